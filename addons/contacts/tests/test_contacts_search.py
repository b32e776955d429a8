"""Partners and leads are searched by name, e-mail and phone through trigram indexes (and
``name_search`` by name and normalised e-mail); a database installed before those indexes
gets them on upgrade, with the same results."""

from core.testing import AddonManager, trigram

PARTNER_FIELDS = ["name", "email", "phone", "email_normalized"]
PARTNERS = [
    {"name": "ООО «Ромашка»", "email": "Sales@Romashka.RU", "phone": "8 (495) 123-45-67"},
    {"name": "ИП Ёлкин Пётр", "email": "elkin@mail.ru", "mobile": "+7 916 000-11-22"},
    {"name": "Romashka Trading", "email": "info@romashka.com", "phone": "+7 812 555-00-00"},
    {"name": "ромашковое поле", "phone": "495 123 45 00"},
]
SEARCHES = [
    ("name", "ilike", "ромашк"),
    ("name", "ilike", "РОМАШКА"),
    ("name", "ilike", "ёлкин"),
    ("email", "ilike", "ROMASHKA"),
    ("phone", "ilike", "123-45"),
    ("phone_sanitized", "like", "7495123"),
]


def trigram_indexes(db) -> set[str]:
    return trigram._existing(db)


def results(env, domain):
    plain = env["res.partner"].with_context(trigram_index=False)
    return env["res.partner"].search(domain).ids, plain.search(domain).ids


def test_partner_and_lead_search_fields_have_trigram_indexes(shipped):
    registry = shipped.install(["crm_leads"])
    indexes = trigram_indexes(registry.db)
    assert {f"res_partner__{name}_trgm" for name in PARTNER_FIELDS} <= indexes
    assert "crm_lead__name_trgm" in indexes


def test_partner_searches_and_name_search_match_the_plain_scan(contacts):
    with contacts.transaction() as env:
        env["res.partner"].create(PARTNERS)
        for domain in SEARCHES:
            indexed, plain = results(env, [domain])
            assert indexed == plain and indexed, domain
        for text in ("ромашк", "ROMASHKA.R", "ёлкин", "916 000", "zzz"):
            by_index = env["res.partner"].name_search(text, limit=80)
            plain = env["res.partner"].with_context(trigram_index=False).name_search(text, limit=80)
            assert by_index == plain, text


def test_upgrade_from_before_the_indexes_builds_them(shipped, make_config):
    """A database whose contacts and crm_leads are at 1.0 (no trigram indexes) gets them,
    filled from the rows already there, when upgraded to the current versions."""
    registry = shipped.install(["crm_leads"])
    with registry.transaction() as env:
        env["res.partner"].create(PARTNERS)
        env["crm.lead"].create([{"name": "Поставка ромашки"}, {"name": "Romashka order"}])
    db = registry.db
    with db.atomic():
        for name in trigram_indexes(db):
            trigram._drop(db, name)
        db.execute_sql(
            "UPDATE ir_module_module SET latest_version = '1.0' "
            "WHERE name IN ('contacts', 'crm_leads')"
        )
    assert trigram_indexes(db) == set()
    db.close()

    manager = AddonManager(shipped.config)
    assert {a.name for a in manager.plan_upgrade()} == {"contacts", "crm_leads"}
    upgraded = manager.upgrade()
    indexes = trigram_indexes(upgraded.db)
    assert {f"res_partner__{name}_trgm" for name in PARTNER_FIELDS} | {
        "crm_lead__name_trgm"
    } <= indexes
    with upgraded.transaction() as env:
        for domain in SEARCHES:
            indexed, plain = results(env, [domain])
            assert indexed == plain and indexed, domain
        leads = env["crm.lead"].search([("name", "ilike", "ромашк")])
        assert leads.mapped("name") == ["Поставка ромашки"]
