"""Partners: normalised phones and e-mails, tax ids, contact persons, tags, duplicates, rights."""

import pytest

from core import AccessError, ValidationError

INN_SBER = "7707083893"  # a real organisation's INN with valid check digits


def test_phone_and_email_are_stored_normalised(contacts):
    with contacts.transaction() as env:
        partner = env["res.partner"].create(
            {
                "name": "ООО «Ромашка»",
                "phone": "8 (495) 123-45-67 доб. 12",
                "mobile": "+7 916 000-11-22",
                "email": "  Продажи <Sales@Romashka.RU> ",
            }
        )
        assert partner.phone_sanitized == "74951234567"
        assert partner.mobile_sanitized == "79160001122"
        assert partner.email_normalized == "sales@romashka.ru"
        partner.write({"phone": "495 765 43 21"})
        assert partner.phone_sanitized == "74957654321"


def test_a_wrong_inn_kpp_or_email_is_refused_naming_the_field(contacts):
    cases = [
        ({"vat": "7707083894"}, "vat", "check digits"),
        ({"vat": "12345"}, "vat", "10 digits"),
        ({"kpp": "77-01"}, "kpp", "9 characters"),
        ({"email": "not an address"}, "email", "not an e-mail"),
    ]
    for vals, field, words in cases:
        with pytest.raises(ValidationError, match=words) as caught, contacts.transaction() as env:
            env["res.partner"].create({"name": "Плохие данные", **vals})
        assert caught.value.field == field
    env = contacts.env(su=True)
    assert env["res.partner"].search_count([("name", "=", "Плохие данные")]) == 0


def test_a_foreign_tax_id_is_kept_as_typed(contacts):
    with contacts.transaction() as env:
        partner = env["res.partner"].create({"name": "Muster GmbH", "vat": "DE 123456789"})
        assert partner.vat == "DE123456789"


def test_contact_person_reads_as_company_comma_person_and_takes_its_salesman(contacts):
    with contacts.transaction() as env:
        admin = env.ref("base.user_admin")
        company = env["res.partner"].create(
            {
                "name": "АО «Вектор»",
                "is_company": True,
                "user_id": admin.id,
                "child_ids": [{"name": "Ольга Смирнова", "function": "Главный бухгалтер"}],
            }
        )
        person = company.child_ids
        assert person.display_name == "АО «Вектор», Ольга Смирнова"
        assert person.user_id == admin
        assert person.commercial_partner_id == company
        assert company.commercial_partner_id == company


def test_tag_filter_at_a_parent_tag_matches_partners_with_child_tags(contacts):
    with contacts.transaction() as env:
        gold = env.ref("contacts.tag_partners_gold")
        partners = env.ref("contacts.tag_partners")
        assert gold.display_name == "Partners / Gold"
        Partner = env["res.partner"]
        golden = Partner.create({"name": "Золотой", "category_id": [gold.id]})
        Partner.create({"name": "Без тегов"})
        found = Partner.search([("category_id", "child_of", partners.id)])
        assert found == golden
        partners.name = "Партнёры"
        assert gold.complete_name == "Партнёры / Gold"


def test_find_duplicates_by_inn_phone_or_email_for_many_rows(contacts):
    with contacts.transaction() as env:
        Partner = env["res.partner"]
        romashka = Partner.create(
            {"name": "Ромашка", "is_company": True, "vat": INN_SBER, "kpp": "773601001"}
        )
        ivan = Partner.create({"name": "Иван", "mobile": "+7 916 123-45-67"})
        olga = Partner.create({"name": "Ольга", "email": "olga@example.ru"})
        found = Partner.find_duplicates(
            [
                {"name": "Ромашка 2", "vat": " 7707083893 "},
                {"name": "Ромашка, филиал", "vat": INN_SBER, "kpp": "540601001"},  # a branch
                {"name": "Иван П.", "phone": "89161234567"},
                {"name": "О.", "email": "OLGA@example.RU"},
                {"name": "Новый", "phone": "+7 999 000-00-00", "email": "new@example.ru"},
                {"id": ivan.id, "name": "Иван", "mobile": "+79161234567"},  # the card itself
            ]
        )
        assert found == [romashka, Partner.browse(), ivan, olga, Partner.browse(), Partner.browse()]


def test_creating_a_duplicate_is_refused_naming_the_existing_card_unless_forced(contacts):
    with contacts.transaction() as env:
        first = env["res.partner"].create({"name": "Ромашка", "vat": INN_SBER})
    with pytest.raises(ValidationError) as caught, contacts.transaction() as env:
        env["res.partner"].create({"name": "Ромашка (дубль)", "vat": INN_SBER})
    assert caught.value.field == "vat"
    assert f"#{first.id} Ромашка" in str(caught.value)
    with contacts.transaction() as env:
        forced = (
            env["res.partner"]
            .with_context(force_create=True)
            .create({"name": "Ромашка (дубль)", "vat": INN_SBER})
        )
        assert forced.id != first.id


def test_a_contact_person_sharing_the_company_phone_is_not_a_duplicate(contacts):
    with contacts.transaction() as env:
        company = env["res.partner"].create(
            {
                "name": "Вектор",
                "is_company": True,
                "phone": "+7 495 111-22-33",
                "child_ids": [{"name": "Секретарь", "phone": "8 495 111 22 33"}],
            }
        )
        env["res.partner"].create(
            {"name": "Директор", "parent_id": company.id, "phone": "84951112233"}
        )
        assert len(company.child_ids) == 2


def test_salesman_sees_own_and_unassigned_partners_manager_sees_all(contacts, make_user):
    with contacts.transaction() as env:
        anna = make_user(env, "anna", ["contacts.group_sale_salesman"])
        boris = make_user(env, "boris", ["contacts.group_sale_salesman"])
        boss = make_user(env, "boss", ["contacts.group_sale_manager"])
        Partner = env["res.partner"]
        annas = Partner.create(
            {
                "name": "Клиент Анны",
                "user_id": anna.id,
                "bank_ids": [{"acc_number": "40702810900000000001"}],
            }
        )
        Partner.create({"name": "Клиент Бориса", "user_id": boris.id})
        Partner.create({"name": "Ничей клиент", "user_id": False})
    with contacts.transaction(anna.id) as env:
        assert sorted(env["res.partner"].search([]).mapped("name")) == [
            "Клиент Анны",
            "Ничей клиент",
        ]
        assert len(env["res.partner.bank"].search([])) == 1
        created = env["res.partner"].create({"name": "Новый клиент Анны"})
        assert created.user_id.id == anna.id
    with pytest.raises(AccessError), contacts.transaction(boris.id) as env:
        env["res.partner"].browse(annas.id).write({"name": "Чужой"})
    with contacts.transaction(boss.id) as env:
        assert env["res.partner"].search_count([]) == 4


def test_demo_partners_are_valid_and_the_demo_salesman_sees_only_his(shipped):
    registry = shipped.install(["contacts"], demo=True)
    env = registry.env(su=True)
    Partner = env["res.partner"]
    companies = Partner.search([("is_company", "=", True)])
    assert len(companies) == 50
    assert all(c.vat and c.city and c.bank_ids for c in companies)
    assert Partner.search_count([("parent_id", "!=", False)]) >= 50
    # Generated with care: the demo data holds no duplicates of itself.
    found = Partner.find_duplicates(companies.read(["vat", "kpp", "phone", "email"]))
    assert [f for f in found if f] == []
    demo = env.ref("base.user_demo")
    with registry.transaction(demo.id) as user_env:
        visible = user_env["res.partner"].search([])
        assert visible and set(visible.mapped("user_id.id")) == {demo.id}


def test_duplicates_count_changes_made_earlier_in_the_same_transaction(contacts):
    with contacts.transaction() as env:
        partner = env["res.partner"].create({"name": "Вектор"})
        partner.write({"phone": "+7 (812) 555-01-02"})
        [found] = env["res.partner"].find_duplicates([{"mobile": "88125550102"}])
        assert found == partner


def test_a_salesman_is_told_about_a_colleagues_client_he_cannot_open(contacts, make_user):
    with contacts.transaction() as env:
        anna = make_user(env, "anna", ["contacts.group_sale_salesman"])
        boris = make_user(env, "boris", ["contacts.group_sale_salesman"])
        annas = env["res.partner"].create(
            {"name": "Клиент Анны", "email": "buyer@client.ru", "user_id": anna.id}
        )
    with (
        pytest.raises(ValidationError, match=f"#{annas.id} Клиент Анны"),
        contacts.transaction(boris.id) as env,
    ):
        env["res.partner"].create({"name": "Тот же клиент", "email": "Buyer@Client.ru"})
    with contacts.transaction(boris.id) as env:
        [found] = env["res.partner"].find_duplicates([{"email": "buyer@client.ru"}])
        assert found.ids == [annas.id]
        assert found.display_names() == {annas.id: "Restricted"}


def test_the_tag_filter_by_name_matches_every_level_below(contacts):
    with contacts.transaction() as env:
        Partner = env["res.partner"]
        gold = Partner.create(
            {"name": "Золотой", "category_id": [env.ref("contacts.tag_partners_gold").id]}
        )
        top = Partner.create(
            {"name": "Просто партнёр", "category_id": [env.ref("contacts.tag_partners").id]}
        )
        Partner.create({"name": "Клиент", "category_id": [env.ref("contacts.tag_customers").id]})
        assert Partner.search([("category_id", "child_of", "Partners")]) == top | gold
        assert Partner.search([("category_id", "child_of", "Partners / Gold")]) == gold


def test_a_tag_cannot_become_its_own_ancestor(contacts):
    with pytest.raises(ValidationError, match="own parent"), contacts.transaction() as env:
        env.ref("contacts.tag_partners").parent_id = env.ref("contacts.tag_partners_gold").id
    env = contacts.env(su=True)
    assert not env.ref("contacts.tag_partners").parent_id


def test_uninstalling_calendar_keeps_partners_and_drops_its_columns(shipped):
    registry = shipped.install(["calendar"])
    with registry.transaction() as env:
        env["res.partner"].create({"name": "Остаётся"})
    assert "activity_digest" in {c.name for c in registry.db.get_columns("res_users")}
    registry = shipped.uninstall(["calendar"])
    env = registry.env(su=True)
    assert env["res.partner"].search([]).mapped("name") == ["Остаётся"]
    assert "activity_digest" not in {c.name for c in registry.db.get_columns("res_users")}
    assert "mail_activity" not in registry.db.get_tables()


def test_a_batch_that_holds_the_same_partner_twice_is_refused(contacts):
    rows = [
        {"name": "Альфа", "email": "info@alpha.ru"},
        {"name": "Бета", "vat": INN_SBER},
        {"name": "Альфа снова", "email": "INFO@alpha.ru"},
    ]
    refused = pytest.raises(ValidationError, match=r"Альфа снова \(row 3\).*row 1")
    with refused as caught, contacts.transaction() as env:
        env["res.partner"].create(rows)
    assert caught.value.field == "email"
    env = contacts.env(su=True)
    assert env["res.partner"].search_count([]) == 0
    with contacts.transaction() as env:
        # A company's persons may share its switchboard number.
        company = env["res.partner"].create(
            {
                "name": "Гамма",
                "is_company": True,
                "child_ids": [
                    {"name": "Секретарь", "phone": "+7 495 100-00-00"},
                    {"name": "Бухгалтер", "phone": "8 495 100 00 00"},
                ],
            }
        )
        assert len(company.child_ids) == 2
        # Branches share the INN and differ by KPP.
        env["res.partner"].create(
            [
                {"name": "Бета, Москва", "vat": INN_SBER, "kpp": "773601001"},
                {"name": "Бета, Новосибирск", "vat": INN_SBER, "kpp": "540601001"},
            ]
        )


def test_shipped_tags_read_in_the_users_language(contacts):
    gold = contacts.env(su=True).ref("contacts.tag_partners_gold")
    assert gold.display_name == "Partners / Gold"
    russian = contacts.env(su=True, context={"lang": "ru"})
    assert russian.ref("contacts.tag_partners_gold").display_name == "Партнёры / Золотые"
    with contacts.transaction() as tx:
        tag = tx["res.partner.category"].create({"name": "Опт", "parent_id": gold.id})
    russian = contacts.env(su=True, context={"lang": "ru"})
    assert russian["res.partner.category"].browse(tag.id).display_name == (
        "Партнёры / Золотые / Опт"
    )
