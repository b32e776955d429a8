"""REST API speed and limits: list pages and counts reused only while nothing changed,
cached SQL never shared across users, capped counts, the rate limit and API key use."""

from __future__ import annotations

import datetime
import time

import pytest
from api_support import build_world
from test_rest_api import _error, _q

from core.exceptions import AccessError
from core.orm.support import utcnow


@pytest.fixture
def world(install, config):
    return build_world(install, config)


@pytest.fixture
def sql_log(world):
    """The SQL the app runs (its own registry's connection)."""
    db = world.app.extensions["kontora"].get().db
    statements, original = [], db.execute_sql

    def spy(sql, params=None, *args, **kwargs):
        statements.append((sql, params))
        return original(sql, params, *args, **kwargs)

    db.execute_sql = spy
    yield statements
    del db.execute_sql


def _last_used(world, login):
    with world.registry.transaction(write=False) as env:
        key = env["res.users.apikey"].sudo().search([("user_id", "=", world.uids[login])])
        return key.last_used


def test_api_key_last_used_is_recorded_at_most_once_a_minute(world, sql_log):
    assert _last_used(world, "sales_a") is None
    before = utcnow()
    assert world.get("sales_a", "/api/v1/acc.lead").status_code == 200
    first = _last_used(world, "sales_a")
    assert first is not None and before <= first <= utcnow()
    sql_log.clear()
    for _ in range(5):
        assert world.get("sales_a", "/api/v1/acc.lead").status_code == 200
    assert _last_used(world, "sales_a") == first
    assert not [q for q, _params in sql_log if "UPDATE res_users_apikey" in q]
    # A minute later the next request records the use again.
    with world.registry.transaction() as env:
        table = env["res.users.apikey"]._table
        table.update(last_used=first - datetime.timedelta(minutes=2)).where(
            table.user_id == world.uids["sales_a"]
        ).execute()
    assert world.get("sales_a", "/api/v1/acc.lead").status_code == 200
    assert _last_used(world, "sales_a") >= first
    assert _last_used(world, "sales_b") is None  # other keys untouched


def test_rate_limit_per_key_answers_429_with_retry_after(world, config):
    from core.http.app import create_app

    client = create_app(config.replace(api__rate_limit=3, api__rate_window_seconds=2)).test_client()
    a, b = world.headers("sales_a"), world.headers("sales_b")
    for _ in range(3):
        assert client.get("/api/v1/acc.lead", headers=a).status_code == 200
    refused = client.get("/api/v1/acc.lead", headers=a)
    error = _error(refused, 429, "too_many_requests")
    wait = int(refused.headers["Retry-After"])
    assert 1 <= wait <= 2 and "at most 3 per 2 s" in error["message"]
    with world.registry.transaction(write=False) as env:  # a refused request did nothing
        assert env["acc.lead"].sudo().search_count([("name", "=", "Over the limit")]) == 0
    over = client.post("/api/v1/acc.lead", headers=a, json={"name": "Over the limit"})
    _error(over, 429)
    with world.registry.transaction(write=False) as env:
        assert env["acc.lead"].sudo().search_count([("name", "=", "Over the limit")]) == 0
    # Another key has its own allowance; the first one gets requests back as time passes.
    assert client.get("/api/v1/acc.lead", headers=b).status_code == 200
    time.sleep(wait)
    assert client.get("/api/v1/acc.lead", headers=a).status_code == 200


def test_counts_are_capped_by_the_configured_limit(world, config):
    from core.http.app import create_app

    client = create_app(config.replace(api__count_limit=2)).test_client()
    body = client.get("/api/v1/acc.lead?limit=1", headers=world.headers("manager")).get_json()
    assert body["count"] == 2 and body["count_limited"] is True
    assert len(body["records"]) == 1
    # A page that holds the rest is exact without counting.
    body = client.get("/api/v1/acc.lead?limit=80", headers=world.headers("manager")).get_json()
    assert body["count"] == 4 and "count_limited" not in body
    body = client.get("/api/v1/acc.lead?limit=80", headers=world.headers("sales_a")).get_json()
    assert body["count"] == 2 and {r["name"] for r in body["records"]} == {
        "A first deal",
        "A child of B",
    }


def test_counts_follow_every_change_at_once(world):
    """Counts are reused only while the data cannot have changed: any commit, from this
    connection or another one, is seen by the next request."""
    url = "/api/v1/acc.lead?fields=name&limit=1"

    def count():
        return world.get("manager", url).get_json()["count"]

    assert count() == count() == 4
    with world.registry.transaction() as env:  # another connection (the test's own)
        env["acc.lead"].sudo().create({"name": "From elsewhere", "user_id": world.uids["sales_a"]})
    assert count() == 5
    created = world.post("manager", "/api/v1/acc.lead", json={"name": "Through the API"})
    assert created.status_code == 201 and count() == 6
    world.delete("manager", f"/api/v1/acc.lead/{created.get_json()['records'][0]['id']}")
    assert count() == 5
    with world.registry.transaction() as env:  # a change behind the ORM's back
        table = env["acc.lead"]._table
        table.update(active=False).where(table.name == "From elsewhere").execute()
    assert count() == 4
    assert world.get("sales_a", url).get_json()["count"] == 2  # the same SQL? never: rules


def _table_reads(sql_log, table):
    return [q for q, _params in sql_log if f'FROM "{table}"' in q]


def test_list_pages_are_answered_again_only_while_nothing_changed(world, sql_log):
    url = "/api/v1/acc.lead?order=id"
    world.get("manager", "/api/v1/acc.tag")  # the key's last use is recorded (a change)
    first = world.get("manager", url).get_data()
    sql_log.clear()
    assert world.get("manager", url).get_data() == first
    assert not _table_reads(sql_log, "acc_lead")  # the same page, not read again
    # Any change of the data, even of a related record's name, gives a fresh page.
    with world.registry.transaction() as env:
        env["acc.lead"].sudo().browse(world.leads["a1"]).write({"name": "Renamed"})
    body = world.get("manager", url).get_json()
    assert "Renamed" in [r["name"] for r in body["records"]]
    with world.registry.transaction() as env:
        env["res.users"].sudo().browse(world.uids["sales_a"]).write({"name": "Anna"})
    body = world.get("manager", url).get_json()
    assert {"id": world.uids["sales_a"], "display_name": "Anna"} in [
        r["user_id"] for r in body["records"]
    ]
    # Pages showing computed fields that are not stored are always made afresh.
    for url, cached in (("/api/v1/orm.partner", False), ("/api/v1/orm.partner?fields=name", True)):
        reads = []
        for _ in range(2):
            sql_log.clear()
            assert world.get("admin", url).status_code == 200
            reads.append(len(_table_reads(sql_log, "orm_partner")))
        assert reads[0] > 0 and reads[1] == (0 if cached else reads[0]), (url, reads)


def test_repeated_searches_reuse_their_sql_but_never_across_users(world):
    url = "/api/v1/acc.lead?fields=name&limit=1&domain=" + _q([["stage", "in", ["won", "new"]]])
    for _ in range(2):
        a = world.get("sales_a", url).get_json()
        b = world.get("sales_b", url).get_json()
        manager = world.get("manager", url).get_json()
        assert (a["count"], b["count"], manager["count"]) == (2, 2, 4)
        assert a["records"][0]["name"].startswith("A ")
        assert b["records"][0]["name"].startswith("B ")
    # A change of rights applies at once, cached SQL or not.
    with world.registry.transaction() as env:
        everything = env.ref("fx_access.group_sale_all")
        env["res.users"].sudo().browse(world.uids["sales_a"]).write(
            {"groups_id": [(4, everything.id)]}
        )
    assert world.get("sales_a", url).get_json()["count"] == 4


@pytest.mark.parametrize("login", ["sales_a", "manager", "admin"])
def test_list_pages_hold_exactly_what_read_gives_for_every_model(world, login):
    from core.rest.schemas import model_schemas
    from core.rest.search import read_page

    with world.registry.transaction(uid=world.uids[login], write=False) as env:
        access = world.registry.access
        for name, cls in sorted(world.registry.models.items()):
            if cls._abstract or not access.model_allowed(env, name, "read"):
                continue
            records = env[name].with_context(active_test=False).search([], limit=20)
            expected = model_schemas(cls).dump(records.read())
            assert read_page(records) == expected, name
            assert read_page(records, ["display_name"]) == model_schemas(cls).dump(
                records.read(["display_name"])
            )
            if "cost" in cls._fields and login == "sales_a":
                with pytest.raises(AccessError):
                    read_page(records, ["cost"])


def test_a_repeated_page_costs_one_statement_and_addons_installed_elsewhere_show(
    world, sql_log, manager
):
    """A read with an API key checks the key, the rights and the registry version in one
    query; a page answered again needs nothing else. An addon installed by another
    process is seen by the very next read."""
    url = "/api/v1/acc.lead?order=id"
    world.get("manager", url)
    first = world.get("manager", url).get_data()
    sql_log.clear()
    assert world.get("manager", url).get_data() == first
    assert len(sql_log) == 1 and "res_users_apikey" in sql_log[0][0], sql_log
    assert world.get("admin", "/api/v1/fx.item").status_code == 404
    manager.install(["fx_base"])  # the app's registry is another one, like another worker's
    found = world.get("admin", "/api/v1/fx.item")
    assert found.status_code == 200 and found.get_json()["count"] == 2


_RATE_CLIENT = """
import json, sys
from core.http.app import create_app
from core.config import load_config

overrides, key, count = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3])
client = create_app(load_config(environ={}, overrides=overrides)).test_client()
codes = [
    client.get("/api/v1/acc.lead", headers={"Authorization": "Bearer " + key}).status_code
    for _ in range(count)
]
print(json.dumps(codes))
"""


def _redis_reachable(url) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


def test_a_shared_rate_limit_holds_across_two_server_processes(world, config):
    """With ``api.rate_limit_store = "redis"`` two processes share one allowance per key."""
    import json
    import subprocess
    import sys

    from core.http.app import create_app
    from tests.conftest import ROOT

    if not _redis_reachable(config["jobs.redis_url"]):
        pytest.skip("Redis is not reachable")
    overrides = {
        key: config[key]
        for key in ("database.url", "addons.paths", "jobs.backend", "jobs.redis_url")
    }
    overrides.update({"api.rate_limit": 5, "api.rate_window_seconds": 600})
    overrides["api.rate_limit_store"] = "redis"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _RATE_CLIENT, json.dumps(overrides), world.keys["sales_a"], "4"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    codes = [json.loads(p.communicate(timeout=120)[0].strip().splitlines()[-1]) for p in processes]
    assert all(p.returncode == 0 for p in processes)
    together = codes[0] + codes[1]
    assert together.count(200) == 5 and together.count(429) == 3, codes
    # Redis unreachable: each process counts on its own, and nothing fails.
    broken = config.replace(
        api__rate_limit=2, api__rate_limit_store="redis", jobs__redis_url="redis://127.0.0.1:1/0"
    )
    client = create_app(broken).test_client()
    headers = world.headers("sales_b")
    statuses = [client.get("/api/v1/acc.lead", headers=headers).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_pages_with_computed_fields_are_kept_only_when_they_say_what_they_depend_on(world, sql_log):
    """A computed field that is not stored but declares what it depends on is a function
    of the data, like a display name: its page is kept while nothing changed, and a change
    to what it counts shows at once. One that declares nothing (it may read the clock) is
    never kept."""
    from core.rest.search import PageCache

    url = "/api/v1/orm.partner?fields=name,order_count"
    world.get("admin", "/api/v1/orm.tag")  # the key's last use is recorded (a change)
    first = world.get("admin", url).get_json()
    assert [r["order_count"] for r in first["records"]] == [1]
    sql_log.clear()
    assert world.get("admin", url).get_json() == first
    assert not _table_reads(sql_log, "orm_partner") and not _table_reads(sql_log, "orm_order")
    with world.registry.transaction() as env:
        partner = env["orm.partner"].sudo().search([])
        env["orm.order"].sudo().create({"name": "SO2", "partner_id": partner.id})
    assert [r["order_count"] for r in world.get("admin", url).get_json()["records"]] == [2]

    model = world.registry.models["orm.partner"]
    field = model._fields["order_count"]
    pages = PageCache(8)
    assert field.depends == ("order_ids",) and pages.cacheable(model, ["name", "order_count"])
    declared, field.depends = field.depends, ()
    try:
        assert not pages.cacheable(model, ["name", "order_count"])
    finally:
        field.depends = declared
