"""Access control in the ORM: model access, record rules, field groups, rights copying."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from core.base.security import ThrottledError
from core.exceptions import AccessError

OPERATIONS = ("read", "write", "create", "unlink")


@pytest.fixture
def world(install):
    """Salesmen A and B (own documents), manager M (all documents), N with no groups."""
    registry = install("fx_orm", "fx_access")
    with registry.transaction() as env:
        own = env.ref("fx_access.group_sale_own")
        every = env.ref("fx_access.group_sale_all")
        users = env["res.users"].create(
            [
                {"name": "Anna", "login": "a", "groups_id": [(6, 0, [own.id])]},
                {"name": "Boris", "login": "b", "groups_id": [(6, 0, [own.id])]},
                {"name": "Maria", "login": "m", "groups_id": [(6, 0, [every.id])]},
                {"name": "Nobody", "login": "n"},
            ]
        )
        a, b, m, n = users.ids
        lead_b = env["acc.lead"].create(
            {"name": "B1", "user_id": b, "expected_revenue": 500, "cost": 50}
        )
        env["acc.lead"].create(
            [
                {"name": "A1", "user_id": a, "expected_revenue": 100, "cost": 10, "stage": "won"},
                {"name": "A2", "user_id": a, "expected_revenue": "250.50", "parent_id": lead_b.id},
                {"name": "B2", "user_id": b, "expected_revenue": 40, "stage": "won"},
            ]
        )
    return registry, {"a": a, "b": b, "m": m, "n": n}


def test_user_without_rights_gets_access_error_on_every_model_and_operation(world):
    """Generated from the registry: every model an addon adds is covered."""
    registry, uid = world
    for name, cls in registry.models.items():
        if cls._abstract:
            continue
        with registry.transaction(uid=uid["n"]) as env:
            model = env[name]
            for call in (
                lambda m: m.search([]),
                lambda m: m.search_count([]),
                lambda m: m.read_group([], [], ["__count"]),
                lambda m: m.name_search(""),
                lambda m: m.browse(1).read(),
                lambda m: m.create({}),
                lambda m: m.browse(1).write({}),
                lambda m: m.browse(1).unlink(),
            ):
                with pytest.raises(AccessError):
                    call(model)


def test_salesman_sees_exactly_his_own_leads_counts_and_totals(world):
    registry, uid = world
    with registry.transaction(uid=uid["a"]) as env:
        Lead = env["acc.lead"]
        assert Lead.search([]).mapped("name") == ["A1", "A2"]
        assert Lead.search_count([]) == 2
        assert Lead.search_count([("name", "like", "B")]) == 0
        assert Lead.read_group([], ["stage"], ["expected_revenue:sum", "__count"]) == [
            {"stage": "new", "expected_revenue:sum": Decimal("250.50"), "__count": 1},
            {"stage": "won", "expected_revenue:sum": Decimal("100.00"), "__count": 1},
        ]
        assert [n for _i, n in Lead.name_search("")] == ["A1", "A2"]


def test_salesman_cannot_read_write_or_delete_another_salesmans_lead(world):
    registry, uid = world
    with registry.transaction(uid=uid["m"]) as env:
        b_lead = env["acc.lead"].search([("name", "=", "B1")]).id
    with registry.transaction(uid=uid["a"]) as env:
        lead = env["acc.lead"].browse(b_lead)
        for call in (
            lambda r: r.read(["name"]),
            lambda r: r.write({"name": "x"}),
            lambda r: r.unlink(),
        ):
            with pytest.raises(AccessError):
                call(lead)
        with pytest.raises(AccessError):
            env["acc.lead"].create({"name": "for B", "user_id": uid["b"]})
    with registry.transaction(uid=uid["m"]) as env:
        assert env["acc.lead"].browse(b_lead).name == "B1"
        assert env["acc.lead"].search_count([("user_id", "=", uid["a"])]) == 2


def test_related_record_outside_the_rules_shows_no_name(world):
    registry, uid = world
    with registry.transaction(uid=uid["a"]) as env:
        row = env["acc.lead"].search([("name", "=", "A2")]).read(["parent_id"])[0]
        assert row["parent_id"][1] == "Restricted"
        assert "B1" not in repr(row)
    with registry.transaction(uid=uid["a"], context={"lang": "ru"}) as env:
        row = env["acc.lead"].search([("name", "=", "A2")]).read(["parent_id"])[0]
        assert row["parent_id"][1] == "Нет доступа"


def test_manager_sees_everything(world):
    registry, uid = world
    with registry.transaction(uid=uid["m"]) as env:
        assert env["acc.lead"].search_count([]) == 4
        groups = env["acc.lead"].read_group([], ["user_id"], ["expected_revenue:sum"])
        assert [g["expected_revenue:sum"] for g in groups] == [Decimal("350.50"), Decimal("540.00")]


def test_restricted_field_is_invisible_and_unwritable(world):
    registry, uid = world
    with registry.transaction(uid=uid["a"]) as env:
        Lead = env["acc.lead"]
        rows = Lead.search([]).read()
        assert all("cost" not in row for row in rows)
        assert "cost" not in Lead.fields_get()
        with pytest.raises(AccessError):
            Lead.search([]).read(["cost"])
        with pytest.raises(AccessError):
            Lead.search([("cost", ">", 0)])
        with pytest.raises(AccessError):
            Lead.search([]).write({"cost": 1})
        with pytest.raises(AccessError):
            Lead.read_group([], ["stage"], ["cost:sum"])
    with registry.transaction(uid=uid["m"]) as env:
        assert env["acc.lead"].search([("cost", ">", 0)]).mapped("name") == ["B1", "A1"]


def test_copying_rights_gives_exactly_the_same_groups(world):
    registry, uid = world
    with registry.transaction() as env:
        users = env["res.users"]
        users.browse(uid["m"]).copy_rights_to(users.browse(uid["n"]))
        assert set(users.browse(uid["n"]).groups_id.ids) == set(
            users.browse(uid["m"]).groups_id.ids
        )
    with registry.transaction(uid=uid["n"]) as env:
        assert env["acc.lead"].search_count([]) == 4


def test_admin_has_every_model_but_never_password_hashes(world):
    registry, _uid = world
    with registry.transaction() as env:
        admin = env.ref("base.user_admin")
        admin.set_password("correct horse")
    with registry.transaction(uid=admin.id) as env:
        assert env["acc.lead"].search_count([]) == 4
        assert env["ir.model.access"].search_count([]) > 0
        for model in ("res.users.credential", "res.users.apikey"):
            with pytest.raises(AccessError):
                env[model].search([])
        assert "password" not in repr(env["res.users"].search([]).read())


def test_passwords_are_hashed_and_login_is_throttled(world):
    registry, uid = world
    with registry.transaction() as env:
        env["res.users"].browse(uid["a"]).set_password("s3cret-pass")
        stored = env["res.users.credential"].search([("user_id", "=", uid["a"])]).password_hash
        assert stored.startswith("$argon2id$") and "s3cret-pass" not in stored
    with registry.transaction() as env:
        Users = env["res.users"]
        assert Users.authenticate("a", "s3cret-pass") == uid["a"]
        for _ in range(5):
            assert Users.authenticate("a", "wrong") is None
        with pytest.raises(ThrottledError) as info:
            Users.authenticate("a", "s3cret-pass")
        assert 0 < info.value.wait_seconds <= 15 * 60
        # the wait is over once the failures are older than 15 minutes
        old = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) - datetime.timedelta(
            minutes=16
        )
        Attempt = registry.tables["res.users.login_attempt"]
        Attempt.update(create_date=old).where(Attempt.login == "a").execute()
        assert Users.authenticate("a", "s3cret-pass") == uid["a"]


def test_archived_user_cannot_sign_in_and_api_keys_follow_the_user(world):
    registry, uid = world
    with registry.transaction() as env:
        user = env["res.users"].browse(uid["a"])
        user.set_password("s3cret-pass")
        key = user.api_key_create("script")
        expired = user.api_key_create("old", expires_at=datetime.datetime(2020, 1, 1))
        assert env["res.users"].api_key_user(key) == uid["a"]
        assert env["res.users"].api_key_user(expired) is None
        assert env["res.users"].api_key_user(key + "x") is None
        stored = env["res.users.apikey"].search([("user_id", "=", uid["a"])]).mapped("key_hash")
        assert key not in stored
        user.write({"active": False})
        assert env["res.users"].authenticate("a", "s3cret-pass") is None
        assert env["res.users"].api_key_user(key) is None


def test_a_change_of_rights_applies_in_other_processes_from_their_next_transaction(world):
    from core.modules.loading import load_registry

    registry, uid = world
    other = load_registry(registry.config)  # what another worker process holds
    with other.transaction(uid=uid["a"]) as env:
        assert env["acc.lead"].search_count([]) == 2
    with registry.transaction() as env:
        every = env.ref("fx_access.group_sale_all")
        env["res.users"].browse(uid["a"]).write({"groups_id": [(4, every.id)]})
    with other.transaction(uid=uid["a"]) as env:
        assert env["acc.lead"].search_count([]) == 4
    with registry.transaction() as env:
        env["ir.rule"].search([("name", "=", "All leads")]).write({"active": False})
    with other.transaction(uid=uid["a"]) as env:
        assert env["acc.lead"].search_count([]) == 2
