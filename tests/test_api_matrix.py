"""The access matrix of the REST API, generated from the registry.

For every installed model and every route (list, create, read, update, delete, each public
method, fields, export, read_group, name_search, the PDF report), the answer for a user is 403 with no data
exactly when the access layer denies the operation; then record rules: salesman A sees
exactly A's leads on every read path (counts, group totals, export, autocompletion, related
display), never B's.
"""

from __future__ import annotations

import json
from decimal import Decimal
from urllib.parse import quote

import pytest
from api_support import build_world

from core.rest.schemas import api_methods

MISSING_ID = 2**62


@pytest.fixture
def world(install, config):
    return build_world(install, config)


def _allowed(world, login, model, operation) -> bool:
    with world.registry.transaction(uid=world.uids[login], write=False) as env:
        return world.registry.access.model_allowed(env, model, operation)


def _some_id(world, model) -> int:
    with world.registry.transaction(write=False) as env:
        found = env[model].sudo().with_context(active_test=False).search([], limit=1)
        return found.id or 1


def _routes(world, model):
    """(route label, operations needed, HTTP method, URL, JSON body, harmless if allowed)."""
    base = f"/api/v1/{model}"
    existing = _some_id(world, model)
    routes = [
        ("list", ("read",), "GET", base, None),
        ("fields", ("read",), "GET", f"{base}/fields", None),
        ("export", ("read",), "GET", f"{base}/export?fields=id&format=json", None),
        ("read_group", ("read",), "GET", f"{base}/read_group", None),
        ("name_search", ("read",), "GET", f"{base}/name_search?name=a", None),
        (
            "report",
            ("read",),
            "GET",
            f"/api/v1/report/base.record_summary?model={model}&ids={existing}",
            None,
        ),
        ("read", ("read",), "GET", f"{base}/{existing}", None),
        ("create", ("create",), "POST", base, {"__no_such_field__": 1}),
        ("update", ("read", "write"), "PATCH", f"{base}/{existing}", {}),
        ("delete", ("read", "unlink"), "DELETE", f"{base}/{existing}", None),
    ]
    for method in sorted(api_methods(world.registry.models[model])):
        routes.append((f"method {method}", ("read",), "POST", f"{base}/{existing}/{method}", {}))
    return routes


@pytest.mark.parametrize("login", ["nogroup", "sales_a", "admin"])
def test_every_model_and_route_is_forbidden_exactly_when_the_rights_say_so(world, login):
    client = world.client
    headers = world.headers(login)
    failures, forbidden_count, checked, printed = [], 0, 0, set()
    models = sorted(n for n, cls in world.registry.models.items() if not cls._abstract)
    assert {"acc.lead", "acc.tag", "orm.order", "res.users", "res.users.credential"} <= set(models)
    assert {"res.users.session", "res.users.session.key"} <= set(models)
    for model in models:
        rights = {
            op: _allowed(world, login, model, op) for op in ("read", "write", "create", "unlink")
        }
        for label, needs, method, url, body in _routes(world, model):
            forbidden = not all(rights[op] for op in needs)
            if not forbidden and method in ("DELETE", "POST") and label != "create":
                # Allowed: do not run actions or delete real records; a missing one must 404.
                url = url.replace(f"/{_some_id(world, model)}", f"/{MISSING_ID}", 1)
            response = client.open(
                url,
                method=method,
                headers=headers,
                data=None if body is None else json.dumps(body),
                content_type="application/json",
            )
            checked += 1
            if label == "report" and response.status_code == 200:
                assert response.data.startswith(b"%PDF-")
                printed.add(model)
            payload = response.get_json(silent=True)
            where = f"{login} {method} {url} ({label})"
            if forbidden:
                forbidden_count += 1
                if response.status_code != 403:
                    failures.append(f"{where}: {response.status_code}, expected 403")
                elif set(payload) != {"error"} or payload["error"]["code"] != "forbidden":
                    failures.append(f"{where}: 403 with data {payload}")
            elif response.status_code == 403:
                failures.append(f"{where}: 403 though allowed: {payload}")
            elif response.status_code >= 500:
                failures.append(f"{where}: {response.status_code}")
    assert not failures, "\n".join(failures[:20])
    assert checked > 200
    if login == "nogroup":
        # No groups: no right anywhere in these addons, so every route of every model is 403.
        assert forbidden_count == checked
    if login == "admin":
        # Administrators may do everything except read secrets (passwords, API keys, the
        # hashes of web session secrets) and change web sessions other than by ending them.
        secrets = ("res.users.credential", "res.users.apikey", "res.users.session.key")
        assert not any(_allowed(world, "admin", m, "read") for m in secrets)
        assert _allowed(world, "admin", "res.users.session", "read")
        assert not _allowed(world, "admin", "res.users.session", "write")
        # ... and the generic report prints a record of every model they may read.
        readable = {m for m in models if _allowed(world, "admin", m, "read")}
        assert {"acc.lead", "res.users", "orm.order"} <= printed
        assert len(printed) >= len(readable) // 2, sorted(readable - printed)


def test_forbidden_requests_change_nothing(world):
    lead = world.leads["a1"]
    for login in ("nogroup",):
        assert world.patch(login, f"/api/v1/acc.lead/{lead}", json={"name": "x"}).status_code == 403
        assert world.delete(login, f"/api/v1/acc.lead/{lead}").status_code == 403
        assert world.post(login, f"/api/v1/acc.lead/{lead}/action_mark_won").status_code == 403
        assert world.post(login, "/api/v1/acc.lead", json={"name": "x"}).status_code == 403
    # Salesmen may read users but not change or delete them.
    admin = world.uids["admin"]
    assert world.patch("sales_a", f"/api/v1/res.users/{admin}", json={"name": "x"}).status_code == (
        403
    )
    assert world.delete("sales_a", f"/api/v1/res.users/{admin}").status_code == 403
    with world.registry.transaction(write=False) as env:
        assert env["acc.lead"].sudo().browse(lead).name == "A first deal"
        assert env["acc.lead"].sudo().search_count([("name", "=", "x")]) == 0
        assert env["res.users"].sudo().browse(admin).name == "Administrator"


# -- record rules ----------------------------------------------------------------------------------------
def _ids(response):
    assert response.status_code == 200, response.get_json()
    return sorted(r["id"] for r in response.get_json()["records"])


def _no_b_names(response):
    text = response.get_data(as_text=True)
    assert "B secret deal" not in text and "B second deal" not in text and "Bravo" not in text
    assert "5000" not in text and "4000" not in text
    return response


def test_salesman_sees_exactly_his_own_leads_on_every_read_path(world):
    a1, a2, b1, b2 = (world.leads[k] for k in ("a1", "a2", "b1", "b2"))
    # list and count
    response = _no_b_names(world.get("sales_a", "/api/v1/acc.lead"))
    assert _ids(response) == sorted([a1, a2]) and response.get_json()["count"] == 2
    assert _ids(world.get("sales_b", "/api/v1/acc.lead")) == sorted([b1, b2])
    assert world.get("manager", "/api/v1/acc.lead").get_json()["count"] == 4
    domain = quote(json.dumps([["expected_revenue", ">", 0]]))
    response = world.get("sales_a", f"/api/v1/acc.lead?domain={domain}&limit=1")
    assert response.get_json()["count"] == 2 and len(response.get_json()["records"]) == 1
    # read, change, delete and methods of B's lead: as if it did not exist
    for method, url in (
        ("GET", f"/api/v1/acc.lead/{b1}"),
        ("PATCH", f"/api/v1/acc.lead/{b1}"),
        ("DELETE", f"/api/v1/acc.lead/{b1}"),
        ("POST", f"/api/v1/acc.lead/{b1}/action_mark_won"),
        ("POST", f"/api/v1/acc.lead/{b2}/message_post"),
        ("GET", f"/api/v1/report/base.record_summary?model=acc.lead&ids={b1}"),
        ("GET", f"/api/v1/report/base.record_summary?model=acc.lead&ids={a1},{b2}"),
    ):
        response = world.client.open(
            url, method=method, headers=world.headers("sales_a"), json={"body": "x"}
        )
        assert response.status_code == 404, (method, url, response.get_json())
        _no_b_names(response)
    with world.registry.transaction(write=False) as env:
        assert env["acc.lead"].sudo().browse(b1).exists().stage == "won"
        assert env["acc.lead"].sudo().browse(b2).stage == "new"

    # group counts and totals
    response = _no_b_names(
        world.get(
            "sales_a",
            "/api/v1/acc.lead/read_group?groupby=stage&aggregates=__count,expected_revenue:sum",
        )
    )
    groups = {g["stage"]: g for g in response.get_json()["groups"]}
    assert groups == {
        "won": {"stage": "won", "__count": 1, "expected_revenue:sum": "1000.00"},
        "new": {"stage": "new", "__count": 1, "expected_revenue:sum": "250.50"},
    }
    response = world.get(
        "sales_a", "/api/v1/acc.lead/read_group?aggregates=__count,expected_revenue:sum"
    )
    assert response.get_json()["groups"] == [{"__count": 2, "expected_revenue:sum": "1250.50"}]
    manager = world.get(
        "manager", "/api/v1/acc.lead/read_group?aggregates=__count,expected_revenue:sum"
    )
    assert manager.get_json()["groups"] == [{"__count": 4, "expected_revenue:sum": "6950.50"}]
    # grouping and totals through the parent: B's parent lead shows as restricted, no values
    response = _no_b_names(
        world.get(
            "sales_a",
            "/api/v1/acc.lead/read_group?groupby=parent_id&aggregates=__count",
        )
    )
    parents = [g["parent_id"] for g in response.get_json()["groups"]]
    assert {"id": b1, "display_name": "Restricted"} in parents
    response = _no_b_names(
        world.get(
            "sales_a",
            "/api/v1/acc.lead/read_group?groupby=parent_id.name"
            "&aggregates=__count,parent_id.expected_revenue:sum",
        )
    )
    assert response.status_code == 200
    assert sum(g["__count"] for g in response.get_json()["groups"]) == 2
    assert all(g["parent_id.expected_revenue:sum"] == "0.00" for g in response.get_json()["groups"])

    # export: A's rows only; B's parent lead is restricted, its fields empty
    response = _no_b_names(
        world.get(
            "sales_a",
            "/api/v1/acc.lead/export?fields=id,name,parent_id,parent_id.name,"
            "parent_id.expected_revenue,user_id.name&format=json&order=id",
        )
    )
    records = response.get_json()["records"]
    assert [r["id"] for r in records] == sorted([a1, a2])
    child = next(r for r in records if r["id"] == a2)
    assert child["parent_id"] == "Restricted"
    assert child["parent_id.name"] is None and child["parent_id.expected_revenue"] is None
    assert child["user_id.name"] == "Salesman A"
    csv_text = _no_b_names(
        world.get("sales_a", "/api/v1/acc.lead/export?fields=name,parent_id.name")
    ).get_data(as_text=True)
    assert csv_text.splitlines()[0] == "name,parent_id.name"
    assert len(csv_text.splitlines()) == 3
    # the manager's export has B's values
    manager = world.get("manager", "/api/v1/acc.lead/export?fields=name,parent_id.name")
    assert "B secret deal" in manager.get_data(as_text=True)

    # autocompletion
    response = _no_b_names(world.get("sales_a", "/api/v1/acc.lead/name_search?name=deal"))
    assert [r["id"] for r in response.get_json()["records"]] == [a1]
    assert world.get("sales_a", "/api/v1/acc.lead/name_search?name=secret").get_json() == {
        "records": []
    }
    assert [r["id"] for r in world.get("sales_b", "/api/v1/acc.lead/name_search?name=secret")
            .get_json()["records"]] == [b1]  # fmt: skip

    # related display: A's lead whose parent is B's shows the parent without its name
    response = _no_b_names(world.get("sales_a", f"/api/v1/acc.lead/{a2}"))
    assert response.get_json()["parent_id"] == {"id": b1, "display_name": "Restricted"}
    assert world.get("manager", f"/api/v1/acc.lead/{a2}").get_json()["parent_id"] == {
        "id": b1,
        "display_name": "B secret deal",
    }


@pytest.mark.parametrize(
    "domain",
    [
        [["parent_id.name", "=", "B secret deal"]],
        [["parent_id.name", "ilike", "secret"]],
        [["parent_id", "ilike", "secret"]],
        [["parent_id.expected_revenue", ">", 4999]],
        [["parent_id.partner_name", "=", "Bravo Ltd"]],
    ],
)
def test_domains_cannot_probe_records_outside_the_rules(world, domain):
    url = f"/api/v1/acc.lead?domain={quote(json.dumps(domain))}"
    assert world.get("sales_a", url).get_json()["count"] == 0
    assert world.get("manager", url).get_json()["count"] == 1  # A's child of B's lead


def test_restricted_field_never_leaves_the_server(world):
    a1 = world.leads["a1"]
    denied = [
        ("GET", "/api/v1/acc.lead?fields=name,cost"),
        ("GET", f"/api/v1/acc.lead/{a1}?fields=cost"),
        ("GET", "/api/v1/acc.lead?domain=" + quote(json.dumps([["cost", ">", 0]]))),
        ("GET", "/api/v1/acc.lead?domain=" + quote(json.dumps([["parent_id.cost", ">", 0]]))),
        ("GET", "/api/v1/acc.lead?order=cost%20desc"),
        ("GET", "/api/v1/acc.lead/read_group?aggregates=cost:sum"),
        ("GET", "/api/v1/acc.lead/read_group?groupby=cost"),
        ("GET", "/api/v1/acc.lead/read_group?groupby=stage&aggregates=parent_id.cost:max"),
        ("GET", "/api/v1/acc.lead/export?fields=name,cost"),
        ("GET", "/api/v1/acc.lead/export?fields=parent_id.cost"),
        ("PATCH", f"/api/v1/acc.lead/{a1}"),
        ("POST", "/api/v1/acc.lead"),
    ]
    for method, url in denied:
        response = world.client.open(
            url,
            method=method,
            headers=world.headers("sales_a"),
            json={"name": "n", "cost": "1.00"},
        )
        assert response.status_code == 403, (method, url, response.get_json())
        assert "300" not in response.get_data(as_text=True)
    # Default reads leave it out, and so does the field list.
    record = world.get("sales_a", f"/api/v1/acc.lead/{a1}").get_json()
    assert "cost" not in record and record["expected_revenue"] == "1000.00"
    assert "cost" not in world.get("sales_a", "/api/v1/acc.lead/fields").get_json()["fields"]
    assert all(
        "cost" not in r for r in world.get("sales_a", "/api/v1/acc.lead").get_json()["records"]
    )
    # The manager sees it everywhere.
    assert world.get("manager", f"/api/v1/acc.lead/{a1}").get_json()["cost"] == "300.00"
    totals = world.get("manager", "/api/v1/acc.lead/read_group?aggregates=cost:sum").get_json()
    assert totals["groups"] == [{"cost:sum": str(Decimal("4450.00"))}]
    with world.registry.transaction(write=False) as env:
        assert env["acc.lead"].sudo().browse(a1).cost == Decimal("300.00")


def test_paths_through_models_the_user_may_not_read_are_forbidden(world):
    """A user who may read leads but not users cannot reach users' fields through them."""
    with world.registry.transaction() as env:
        group = env["res.groups"].sudo().create({"name": "Lead readers"})
        env["ir.model.access"].sudo().create(
            {"name": "leads, read", "model": "acc.lead", "group_id": group.id, "perm_read": True}
        )
        reader = (
            env["res.users"]
            .sudo()
            .create({"name": "Reader", "login": "reader", "groups_id": [(6, 0, [group.id])]})
        )
        world.keys["reader"] = reader.api_key_create("reader")
    assert world.get("reader", "/api/v1/acc.lead").get_json()["count"] == 4
    forbidden = [
        "/api/v1/res.users",
        "/api/v1/acc.lead?domain=" + quote(json.dumps([["user_id.login", "=", "admin"]])),
        "/api/v1/acc.lead?domain=" + quote(json.dumps([["user_id", "ilike", "Salesman"]])),
        "/api/v1/acc.lead?domain=" + quote(json.dumps([["tag_ids", "=", "Hot"]])),
        "/api/v1/acc.lead?domain=" + quote(json.dumps([["tag_ids.name", "=", "Hot"]])),
        "/api/v1/acc.lead/read_group?groupby=user_id.login",
        "/api/v1/acc.lead/read_group?aggregates=user_id.login:max",
        "/api/v1/acc.lead/export?fields=name,user_id.login",
    ]
    for url in forbidden:
        response = world.get("reader", url)
        assert response.status_code == 403, (url, response.get_json())
        assert "sales_a" not in response.get_data(as_text=True)
    # ordering by the many2one works, by id, without reading the users' names
    response = world.get("reader", "/api/v1/acc.lead?order=user_id&fields=name")
    assert response.status_code == 200 and response.get_json()["count"] == 4
