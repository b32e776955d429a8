"""The REST API: authentication, CRUD, methods, metadata, export, errors, hostile input,
stale writes, and secrets that must never leave the server."""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import re
from urllib.parse import quote

import pytest
import schemathesis
from api_support import PASSWORD, build_world

from core.orm.support import utcnow


@pytest.fixture
def world(install, config):
    return build_world(install, config)


def _error(response, status, code=None):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == "application/json"
    body = response.get_json()
    assert set(body) == {"error"} and body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    return body["error"]


def _q(value) -> str:
    return quote(value if isinstance(value, str) else json.dumps(value))


# -- authentication ----------------------------------------------------------------------------------------
def test_requests_without_valid_credentials_get_401(world):
    client = world.client
    for headers in (
        {},
        {"Authorization": "Basic YWRtaW46YWRtaW4="},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer kt_00000000_" + "x" * 43},
        {"Authorization": "Bearer " + world.keys["sales_a"] + "x"},
        {"Authorization": "Bearer \x00kt"},
    ):
        response = client.get("/api/v1/acc.lead", headers=headers)
        _error(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    _error(client.post("/api/v1/acc.lead", json={"name": "x"}), 401)
    _error(client.get("/api/v1/openapi.json"), 401)


def test_revoked_expired_and_archived_users_keys_stop_working(world):
    assert world.get("sales_a", "/api/v1/acc.lead").status_code == 200
    with world.registry.transaction() as env:
        user = env["res.users"].sudo().browse(world.uids["sales_a"])
        key = env["res.users.apikey"].sudo().search([("user_id", "=", user.id)])
        user.api_key_revoke(key.id)
        expired = user.api_key_create("old", expires_at=utcnow() - datetime.timedelta(minutes=1))
    _error(world.get("sales_a", "/api/v1/acc.lead"), 401)
    _error(
        world.client.get("/api/v1/acc.lead", headers={"Authorization": f"Bearer {expired}"}), 401
    )
    assert world.get("sales_b", "/api/v1/acc.lead").status_code == 200
    with world.registry.transaction() as env:
        env["res.users"].sudo().browse(world.uids["sales_b"]).write({"active": False})
    _error(world.get("sales_b", "/api/v1/acc.lead"), 401)


def test_the_key_acts_as_its_user_never_as_superuser(world):
    created = world.post("sales_a", "/api/v1/acc.lead", json={"name": "Mine"}).get_json()
    record = created["records"][0]
    assert record["user_id"]["id"] == world.uids["sales_a"]
    assert record["create_uid"]["id"] == world.uids["sales_a"]
    # the request data cannot switch user or reach sudo
    for method in ("sudo", "with_user", "with_env", "with_context", "browse", "write", "unlink"):
        response = world.post(
            "sales_a", f"/api/v1/acc.lead/{record['id']}/{method}", json={"flag": True}
        )
        _error(response, 404, "not_found")


def _sign_in(world, login):
    world.set_passwords(login)
    client = world.app.test_client()
    page = client.get("/web/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    response = client.post(
        "/web/login", data={"login": login, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    with client.session_transaction() as session:
        return client, session["csrf_token"]


def test_web_session_cookie_works_and_state_changes_need_the_csrf_token(world):
    client, token = _sign_in(world, "sales_a")
    listed = client.get("/api/v1/acc.lead")
    assert listed.status_code == 200 and listed.get_json()["count"] == 2
    _error(client.post("/api/v1/acc.lead", json={"name": "No token"}), 403, "csrf")
    _error(
        client.post("/api/v1/acc.lead", json={"name": "Bad"}, headers={"X-CSRF-Token": "forged"}),
        403,
        "csrf",
    )
    lead = world.leads["a1"]
    _error(client.delete(f"/api/v1/acc.lead/{lead}"), 403, "csrf")
    _error(client.patch(f"/api/v1/acc.lead/{lead}", json={"name": "x"}), 403, "csrf")
    created = client.post(
        "/api/v1/acc.lead", json={"name": "Token"}, headers={"X-CSRF-Token": token}
    )
    assert created.status_code == 201
    with world.registry.transaction(write=False) as env:
        names = env["acc.lead"].sudo().search([]).mapped("name")
    assert "Token" in names and "No token" not in names and "Bad" not in names
    assert "x" not in names
    # signing out ends API access through the cookie
    client.post("/web/logout", data={"csrf_token": token})
    _error(client.get("/api/v1/acc.lead"), 401)


# -- CRUD -------------------------------------------------------------------------------------------------
def test_create_read_update_delete(world):
    created = world.post(
        "sales_a",
        "/api/v1/acc.lead",
        json={
            "name": "New lead",
            "expected_revenue": 1234.5,
            "date_deadline": "2026-05-01",
            "stage": "new",
            "tag_ids": [world.leads["tag"]],
        },
    )
    assert created.status_code == 201
    record = created.get_json()["records"][0]
    assert record["expected_revenue"] == "1234.50"
    assert record["date_deadline"] == "2026-05-01"
    assert record["tag_ids"] == [world.leads["tag"]]
    assert record["user_id"] == {"id": world.uids["sales_a"], "display_name": "Salesman A"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z", record["write_date"])
    lead = record["id"]

    many = world.post("sales_a", "/api/v1/acc.lead", json=[{"name": "One"}, {"name": "Two"}])
    assert many.status_code == 201 and [r["name"] for r in many.get_json()["records"]] == [
        "One",
        "Two",
    ]

    read = world.get("sales_a", f"/api/v1/acc.lead/{lead}?fields=name,stage")
    assert read.get_json() == {"id": lead, "name": "New lead", "stage": "new"}
    read = world.get("sales_a", f"/api/v1/acc.lead/{lead}?fields=" + _q(["name"]))
    assert read.get_json() == {"id": lead, "name": "New lead"}

    changed = world.patch(
        "sales_a", f"/api/v1/acc.lead/{lead}", json={"stage": "won", "tag_ids": []}
    )
    assert changed.status_code == 200
    assert changed.get_json()["stage"] == "won" and changed.get_json()["tag_ids"] == []

    assert world.delete("sales_a", f"/api/v1/acc.lead/{lead}").status_code == 204
    _error(world.get("sales_a", f"/api/v1/acc.lead/{lead}"), 404, "not_found")
    _error(world.delete("sales_a", f"/api/v1/acc.lead/{lead}"), 404)


def test_list_parameters(world):
    url = "/api/v1/acc.lead?fields=name,expected_revenue&order=expected_revenue%20desc&limit=1"
    body = world.get("manager", url).get_json()
    assert body["count"] == 4
    assert body["records"] == [
        {"id": world.leads["b1"], "name": "B secret deal", "expected_revenue": "5000.00"}
    ]
    body = world.get("manager", url + "&offset=1").get_json()
    assert body["records"][0]["name"] == "A first deal"
    domain = _q(["|", ["stage", "=", "won"], ["name", "ilike", "child"]])
    body = world.get("manager", f"/api/v1/acc.lead?domain={domain}&fields=name&order=id").get_json()
    assert body["count"] == 3
    # archived records are left out unless the domain asks for them
    world.post("manager", f"/api/v1/acc.lead/{world.leads['b2']}/action_archive")
    assert world.get("manager", "/api/v1/acc.lead").get_json()["count"] == 3
    domain = _q([["active", "in", [True, False]]])
    assert world.get("manager", f"/api/v1/acc.lead?domain={domain}").get_json()["count"] == 4
    assert world.get("manager", f"/api/v1/acc.lead/{world.leads['b2']}").status_code == 200


def test_validation_errors_name_each_field(world):
    error = _error(
        world.post(
            "sales_a",
            "/api/v1/acc.lead",
            json={
                "expected_revenue": "12,50",
                "stage": "maybe",
                "date_deadline": "tomorrow",
                "user_id": "me",
                "active": "yes",
                "password": "x",
            },
        ),
        422,
        "validation_error",
    )
    assert set(error["fields"]) == {
        "name",
        "expected_revenue",
        "stage",
        "date_deadline",
        "user_id",
        "active",
        "password",
    }
    assert error["fields"]["name"] == ["Missing data for required field."]
    error = _error(
        world.post("sales_a", "/api/v1/acc.lead", json=[{"name": "ok"}, {"name": None}]), 422
    )
    assert error["fields"] == {"1": {"name": ["Field may not be null."]}}
    error = _error(
        world.patch(
            "sales_a",
            f"/api/v1/acc.lead/{world.leads['a1']}",
            json={"write_date": "yesterday", "id": 5, "create_uid": 1},
        ),
        422,
    )
    assert set(error["fields"]) == {"write_date", "id", "create_uid"}
    # out-of-range values are refused before they reach the database
    error = _error(
        world.post("admin", "/api/v1/orm.order.line", json={"order_id": 1, "product": "x",
                                                           "price_unit": "1e30"}),
        422,
    )  # fmt: skip
    assert "price_unit" in error["fields"]
    error = _error(
        world.post("admin", "/api/v1/ir.sequence", json={"name": "s", "code": "c",
                                                        "padding": 2**63}),
        422,
    )  # fmt: skip
    assert "padding" in error["fields"]
    # a business rule of the model (an ORM ValidationError) names its field too
    order = world.post("admin", "/api/v1/orm.order", json={"name": "SO9"}).get_json()
    error = _error(
        world.post(
            "admin",
            "/api/v1/orm.order.line",
            json={"order_id": order["records"][0]["id"], "product": "x", "quantity": -1},
        ),
        422,
        "validation_error",
    )
    assert error["fields"] == {"quantity": ["The quantity cannot be negative"]}
    with world.registry.transaction(write=False) as env:
        assert not env["orm.order.line"].sudo().search([("product", "=", "x")])


def test_stale_write_is_refused_with_who_and_when_and_the_first_value_stays(world):
    lead = world.leads["a1"]
    past = datetime.datetime(2026, 1, 2, 3, 4, 5)
    with world.registry.transaction() as env:  # the record was last changed a while ago
        table = env["acc.lead"]._table
        table.update(write_date=past).where(table.id == lead).execute()
    seen_by_a = world.get("sales_a", f"/api/v1/acc.lead/{lead}").get_json()["write_date"]
    seen_by_manager = world.get("manager", f"/api/v1/acc.lead/{lead}").get_json()["write_date"]
    assert seen_by_a == seen_by_manager == "2026-01-02T03:04:05Z"

    first = world.patch(
        "manager", f"/api/v1/acc.lead/{lead}", json={"name": "Manager's", "write_date": seen_by_a}
    )
    assert first.status_code == 200 and first.get_json()["write_date"] != seen_by_a
    second = world.patch(
        "sales_a", f"/api/v1/acc.lead/{lead}", json={"name": "Salesman's", "write_date": seen_by_a}
    )
    error = _error(second, 409, "conflict")
    assert "Sales Manager" in error["message"]
    assert first.get_json()["write_date"][:16].replace("T", " ") in error["message"]
    with world.registry.transaction(write=False) as env:
        assert env["acc.lead"].sudo().browse(lead).name == "Manager's"
    # With the fresh write_date the change goes through.
    fresh = first.get_json()["write_date"]
    again = world.patch(
        "sales_a", f"/api/v1/acc.lead/{lead}", json={"name": "Salesman's", "write_date": fresh}
    )
    assert again.status_code == 200 and again.get_json()["name"] == "Salesman's"


def test_a_russian_speaking_user_is_told_why_in_russian(world):
    """Refusals and conflicts speak the caller's language; English is the default."""
    english = _error(world.post("nogroup", "/api/v1/acc.lead", json={"name": "x"}), 403)
    assert english["message"].startswith("You are not allowed to create")
    with world.registry.transaction() as env:
        users = env["res.users"].sudo()
        users.browse([world.uids["sales_a"], world.uids["nogroup"]]).write({"lang": "ru"})
    refused = _error(world.post("nogroup", "/api/v1/acc.lead", json={"name": "x"}), 403)
    assert refused["message"].startswith("У вас нет прав создавать записи")
    lead = world.leads["a1"]
    stale = {"name": "y", "write_date": "2000-01-01T00:00:00Z"}
    conflict = world.patch("sales_a", f"/api/v1/acc.lead/{lead}", json=stale)
    message = _error(conflict, 409, "conflict")["message"]
    assert "изменил(а)" in message and "обновите" in message


def test_two_changes_within_one_second_are_told_apart(world):
    lead = world.leads["a1"]
    table_changes = [
        datetime.datetime(2026, 1, 2, 3, 4, 5, 123456),
        datetime.datetime(2026, 1, 2, 3, 4, 5, 654321),  # someone else, the same second
    ]
    with world.registry.transaction() as env:
        table = env["acc.lead"]._table
        table.update(write_date=table_changes[0]).where(table.id == lead).execute()
    seen = world.get("sales_a", f"/api/v1/acc.lead/{lead}").get_json()["write_date"]
    assert seen == "2026-01-02T03:04:05.123456Z"
    with world.registry.transaction() as env:
        table.update(write_date=table_changes[1], name="Changed meanwhile").where(
            table.id == lead
        ).execute()
    stale = world.patch(
        "sales_a", f"/api/v1/acc.lead/{lead}", json={"name": "Mine", "write_date": seen}
    )
    _error(stale, 409, "conflict")
    with world.registry.transaction(write=False) as env:
        assert env["acc.lead"].sudo().browse(lead).name == "Changed meanwhile"
    # Two API writes in a row: each answer's write_date is exactly what the next one needs.
    current = world.get("sales_a", f"/api/v1/acc.lead/{lead}").get_json()["write_date"]
    for name in ("First", "Second", "Third"):
        answer = world.patch(
            "sales_a", f"/api/v1/acc.lead/{lead}", json={"name": name, "write_date": current}
        )
        assert answer.status_code == 200, answer.get_data(as_text=True)
        assert answer.get_json()["write_date"] != current
        current = answer.get_json()["write_date"]
    _error(
        world.patch(
            "manager", f"/api/v1/acc.lead/{lead}", json={"name": "Old", "write_date": seen}
        ),
        409,
    )


# -- methods, metadata, export ----------------------------------------------------------------------------
def test_public_methods_only(world):
    a1, a2 = world.leads["a1"], world.leads["a2"]
    assert world.post("sales_a", f"/api/v1/acc.lead/{a2}/action_mark_won").get_json() == {
        "result": True
    }
    assert world.get("sales_a", f"/api/v1/acc.lead/{a2}").get_json()["stage"] == "won"
    assert world.post("sales_a", f"/api/v1/acc.lead/{a1}/priority_score").get_json() == {
        "result": [1]
    }
    posted = world.post("sales_a", f"/api/v1/acc.lead/{a1}/message_post", json={"body": "Hello"})
    assert posted.status_code == 200
    # a business rule refuses: 422, nothing changed
    world.patch("sales_a", f"/api/v1/acc.lead/{a1}", json={"stage": "lost"})
    _error(world.post("sales_a", f"/api/v1/acc.lead/{a1}/action_mark_won"), 422, "user_error")
    assert world.get("sales_a", f"/api/v1/acc.lead/{a1}").get_json()["stage"] == "lost"
    # private, internal and unknown names: 404
    for method in ("_private_helper", "read", "search", "create", "copy", "check_write_date",
                   "__init__", "nothing_here", "name"):  # fmt: skip
        _error(world.post("sales_a", f"/api/v1/acc.lead/{a1}/{method}"), 404, "not_found")
    # arguments that the method does not take: 400
    _error(
        world.post("sales_a", f"/api/v1/acc.lead/{a1}/priority_score", json={"x": 1}),
        400,
        "bad_request",
    )
    _error(world.post("sales_a", f"/api/v1/acc.lead/{a1}/message_post"), 400)
    _error(world.post("sales_a", f"/api/v1/acc.lead/{a1}/message_post", json=[1]), 400)


def test_fields_metadata(world):
    fields = world.get("sales_a", "/api/v1/acc.lead/fields").get_json()["fields"]
    assert fields["stage"]["type"] == "selection"
    assert ["won", "Won"] in fields["stage"]["selection"]
    assert fields["parent_id"]["relation"] == "acc.lead"
    assert "cost" not in fields
    assert "cost" in world.get("manager", "/api/v1/acc.lead/fields").get_json()["fields"]


def test_export_csv_and_json(world):
    response = world.get(
        "manager", "/api/v1/acc.lead/export?fields=name,user_id,tag_ids,expected_revenue&order=id"
    )
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="acc.lead.csv"' in response.headers["Content-Disposition"]
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0] == "name,user_id,tag_ids,expected_revenue"
    assert "A first deal,Salesman A,Hot,1000.00" in lines
    assert len(lines) == 5
    body = world.get(
        "manager",
        "/api/v1/acc.lead/export?fields=" + _q(["name", "date_deadline"]) + "&format=json",
    ).get_json()
    assert body["fields"] == ["name", "date_deadline"]
    assert {"name": "A first deal", "date_deadline": "2026-03-01"} in body["records"]
    for bad in ("nope", "name.x", "tag_ids.name", "parent_id.nope", "a b", ""):
        _error(world.get("manager", f"/api/v1/acc.lead/export?fields={_q(bad)}"), 400)
    _error(world.get("manager", "/api/v1/acc.lead/export?fields=name&format=xml"), 400)


def test_read_group_and_name_search(world):
    body = world.get(
        "manager",
        "/api/v1/acc.lead/read_group?groupby=user_id,stage&aggregates=__count,expected_revenue:sum",
    ).get_json()
    groups = {(g["user_id"]["display_name"], g["stage"]): g["__count"] for g in body["groups"]}
    assert groups == {
        ("Salesman A", "won"): 1,
        ("Salesman A", "new"): 1,
        ("Salesman B", "won"): 1,
        ("Salesman B", "new"): 1,
    }
    body = world.get(
        "manager", "/api/v1/acc.lead/read_group?groupby=date_deadline:month"
    ).get_json()
    assert {"date_deadline:month": "2026-03-01", "__count": 1} in body["groups"]
    for bad in ("groupby=nope", "groupby=a,b,c,d", "aggregates=name:sum", "aggregates=x:median",
                "groupby=stage:month", "order=nope"):  # fmt: skip
        _error(world.get("manager", f"/api/v1/acc.lead/read_group?{bad}"), 400)
    found = world.get("manager", "/api/v1/acc.lead/name_search?name=deal&limit=2").get_json()
    assert len(found["records"]) == 2 and all("deal" in r["display_name"] for r in found["records"])
    _error(world.get("manager", "/api/v1/acc.lead/name_search?limit=0"), 400)


def test_read_group_of_date_times_follows_the_callers_time_zone(world):
    """22:30 UTC on 31 January is already February in Moscow: months of date-times are the
    caller's (``tz``, else the user's own zone), stored values stay UTC."""
    with world.registry.transaction() as env:
        table = env["acc.lead"]._table
        table.update(create_date=datetime.datetime(2026, 1, 31, 22, 30)).execute()
        env["res.users"].sudo().browse(world.uids["manager"]).write({"tz": "Europe/Moscow"})

    def months(query=""):
        url = f"/api/v1/acc.lead/read_group?groupby=create_date:month{query}"
        body = world.get("manager", url).get_json()
        return {g["create_date:month"]: g["__count"] for g in body["groups"]}

    assert months("&tz=UTC") == {"2026-01-01": 4}
    assert months("&tz=Europe/Moscow") == months() == {"2026-02-01": 4}
    assert months("&tz=America/New_York") == {"2026-01-01": 4}
    _error(world.get("manager", "/api/v1/acc.lead/read_group?groupby=name&tz=Mars/Base"), 400)


def test_openapi_document_describes_every_model(world):
    response = world.get("sales_a", "/api/v1/openapi.json")
    document = response.get_json()
    assert document["openapi"].startswith("3.1")
    schemas = document["components"]["schemas"]
    for name, cls in world.registry.models.items():
        if cls._abstract:
            assert f"/api/v1/{name}" not in document["paths"]
            continue
        for suffix in ("", "-create", "-update"):
            assert name + suffix in schemas
        assert f"/api/v1/{name}/{{id}}" in document["paths"]
    lead = schemas["acc.lead"]["properties"]
    assert lead["expected_revenue"]["format"] == "decimal"
    assert lead["parent_id"]["type"] == ["object", "null"]
    assert set(lead["parent_id"]["properties"]) == {"id", "display_name"}
    assert lead["tag_ids"]["type"] == "array"
    assert lead["stage"]["enum"] == ["new", "won", "lost", None]
    assert schemas["acc.lead-create"]["required"] == ["name"]
    assert "write_date" in schemas["acc.lead-update"]["properties"]
    methods = {
        p.rsplit("/", 1)[1] for p in document["paths"] if p.startswith("/api/v1/acc.lead/{id}/")
    }
    assert "history" in methods  # the GET route; the others are POST method calls
    methods.discard("history")
    assert methods == {
        "action_mark_won",
        "priority_score",
        "action_archive",
        "action_unarchive",
        "message_history",
        "message_post",
    }
    # A valid OpenAPI 3.1 document (schemathesis checks it against the specification).
    schemathesis.openapi.from_dict(document).validate()


# -- errors and hostile input ---------------------------------------------------------------------------
def test_errors_are_json_with_the_right_status(world):
    client = world.client
    h = world.headers("manager")
    _error(client.get("/api/v1/no.such.model", headers=h), 404, "not_found")
    _error(client.get("/api/v1/rights.change.mixin", headers=h), 404)  # abstract
    _error(client.get("/api/v1/acc.lead/999999", headers=h), 404)
    _error(client.get(f"/api/v1/acc.lead/{2**64}", headers=h), 404)
    _error(client.get("/api/v1/acc.lead/1/2/3/4", headers=h), 404)
    _error(client.get("/api/v1/acc.lead/-1", headers=h), 404)
    error = _error(client.put("/api/v1/acc.lead/1", headers=h), 405, "method_not_allowed")
    assert "PATCH" in error["message"]
    _error(client.post("/api/v1/acc.lead", headers=h, data="{bad json"), 400, "bad_request")
    _error(client.post("/api/v1/acc.lead", headers=h, data=b"\xff\xfe"), 400)
    _error(client.post("/api/v1/acc.lead", headers=h), 400)
    _error(client.post("/api/v1/acc.lead", headers=h, data='{"name": NaN}'), 400)
    _error(client.post("/api/v1/acc.lead", headers=h, json=[]), 422)
    _error(client.post("/api/v1/acc.lead", headers=h, json="x"), 422)
    _error(client.post("/api/v1/acc.lead", headers=h, json=[1, 2]), 422)
    _error(client.post("/api/v1/acc.lead", headers=h, json={"name": "a\x00b"}), 400)
    _error(client.post("/api/v1/acc.lead", headers=h, data='{"name": "\\ud800"}'), 400)
    _error(client.patch("/api/v1/acc.lead/1", headers=h, json=[{"name": "x"}]), 422)
    for query in ("limit=1001", "limit=-1", "limit=abc", "offset=-5", "limit=" + "9" * 5000,
                  "domain=%5B", "domain=%7B%7D", "domain=" + _q([["name", "=", "a\x00"]]),
                  "fields=nope", "fields=" + _q({"a": 1}), "order=nope", "order=name%20sideways"):  # fmt: skip
        _error(client.get(f"/api/v1/acc.lead?{query}", headers=h), 400)


HOSTILE = [
    ("order", "name; DROP TABLE acc_lead"),
    ("order", "name desc, (SELECT 1)"),
    ("order", "id) UNION SELECT password_hash FROM res_users_credential --"),
    ("fields", "name,password_hash"),
    ("fields", _q(["password"])),
    ("domain", _q([["name; DROP TABLE acc_lead", "=", "x"]])),
    ("domain", _q([["name", "= 1 OR 1=1 --", "x"]])),
    ("domain", _q([["user_id.password", "=", "x"]])),
    ("domain", _q([["name", "in", [["nested"]]]])),
    ("domain", _q([["id", "=", 2**70]])),
    ("domain", _q([["expected_revenue", ">", "1e999"]])),
    ("domain", _q([["date_deadline", ">", "2026-13-45"]])),
    ("domain", _q([["id", "child_of", ["x' OR 1=1 --"]]])),
    ("domain", _q(["!"] * 200 + [["name", "=", "x"]])),
    ("domain", _q(["|"] * 3000 + [["name", "=", "x"]] * 3001)),
    ("domain", "[" * 100_000 + "]" * 100_000),
    ("limit", "100000000000000000000"),
]


@pytest.fixture
def sql_log(world):
    """Every SQL statement the app runs, captured around ``execute_sql``."""
    registry = world.app.extensions["kontora"].get()
    statements = []
    original = registry.db.execute_sql

    def spy(sql, params=None, *args, **kwargs):
        statements.append((sql, params))
        return original(sql, params, *args, **kwargs)

    registry.db.execute_sql = spy
    yield statements
    del registry.db.execute_sql


@pytest.mark.parametrize("login", ["sales_a", "admin"])
def test_hostile_input_gets_a_clear_4xx_and_never_reaches_sql(world, sql_log, login):
    world.set_passwords("admin")
    with world.registry.transaction(write=False) as env:
        before = env["acc.lead"].sudo().with_context(active_test=False).search_count([])
    for name, value in HOSTILE:
        for path in ("/api/v1/acc.lead", "/api/v1/acc.lead/export?fields=name"):
            if name == "fields" and "export" in path:
                path = "/api/v1/acc.lead/export?format=json"
            response = world.get(login, f"{path}{'&' if '?' in path else '?'}{name}={value}")
            assert response.status_code in (400, 403), (name, value, response.get_json())
            assert response.get_json()["error"]["code"] in ("bad_request", "forbidden")
    # values are always bound parameters: the quote and the comment stay data
    injection = "x' OR 1=1 --"
    for domain in ([["name", "=", injection]], [["parent_id", "ilike", injection]],
                   [["tag_ids", "=", injection]], [["name", "like", injection]]):  # fmt: skip
        response = world.get(login, f"/api/v1/acc.lead?domain={_q(domain)}")
        assert response.status_code == 200 and response.get_json()["count"] == 0
    response = world.get(login, f"/api/v1/acc.lead/name_search?name={quote(injection)}")
    assert response.get_json() == {"records": []}
    created = world.post(login, "/api/v1/acc.lead", json={"name": injection})
    assert created.get_json()["records"][0]["name"] == injection
    # res.users.credential is out of reach even for administrators
    for path in ("", "/fields", "/export?fields=password_hash", "/read_group",
                 "/name_search", "?fields=password_hash"):  # fmt: skip
        _error(world.get(login, f"/api/v1/res.users.credential{path}"), 403)
    # the tables are intact and no hostile text was ever part of a statement
    with world.registry.transaction(write=False) as env:
        after = env["acc.lead"].sudo().with_context(active_test=False).search_count([])
        assert env["res.users.credential"].sudo().search_count([]) == 1
    assert after == before + 1
    assert sql_log
    for sql, _params in sql_log:
        text = sql.upper()
        for fragment in ("DROP", "UNION", "OR 1=1", "SELECT 1)", "--", "PASSWORD_HASH", "'X'"):
            assert fragment not in text, sql
    assert any(injection in (params or ()) for _sql, params in sql_log)


# -- secrets ---------------------------------------------------------------------------------------------------
def test_password_hashes_and_api_keys_never_leave_the_server(world, caplog):
    world.set_passwords("admin", "sales_a")
    caplog.set_level(logging.DEBUG)
    with world.registry.transaction(write=False) as env:
        hashes = env["res.users.credential"].sudo().search([]).mapped("password_hash")
        key_hashes = env["res.users.apikey"].sudo().search([]).mapped("key_hash")
    assert hashes and all(h.startswith("$argon2") for h in hashes)
    secrets = list(world.keys.values())
    forbidden = ["$argon2", *hashes, *secrets, *key_hashes]
    forbidden += [hashlib.sha256(s.encode()).hexdigest() for s in secrets]
    bodies = []
    for login in ("admin", "sales_a"):
        bodies.append(world.get(login, "/api/v1/openapi.json").get_data(as_text=True))
        for name, cls in world.registry.models.items():
            if cls._abstract:
                continue
            base = f"/api/v1/{name}"
            listed = world.get(login, f"{base}?limit=1000")
            bodies.append(listed.get_data(as_text=True))
            fields = [f for f, field in cls._fields.items() if field.type != "binary"]
            for url in (
                f"{base}/fields",
                f"{base}/export?fields={','.join(fields)}&format=json",
                f"{base}/export?fields={','.join(fields)}",
                f"{base}/name_search",
                f"{base}/read_group?groupby=id",
            ):
                bodies.append(world.get(login, url).get_data(as_text=True))
            if listed.status_code == 200:
                for record in listed.get_json()["records"][:3]:
                    bodies.append(world.get(login, f"{base}/{record['id']}").get_data(as_text=True))
                    history = world.post(login, f"{base}/{record['id']}/message_history")
                    bodies.append(history.get_data(as_text=True))
    # users changing their own records do not leak either
    bodies.append(
        world.patch("admin", f"/api/v1/res.users/{world.uids['admin']}", json={"email": "a@b.c"})
        .get_data(as_text=True)
    )  # fmt: skip
    bodies.append(
        world.client.get("/api/v1/acc.lead", headers={"Authorization": "Bearer x"}).data.decode()
    )
    everything = "\n".join(bodies) + "\n" + caplog.text
    for secret in forbidden:
        assert secret not in everything


def test_method_arguments_are_checked(world):
    a1 = world.leads["a1"]
    url = f"/api/v1/acc.lead/{a1}/message_history"
    assert world.post("sales_a", url, json={"limit": 5}).status_code == 200
    for limit in (2**70, -1, "x", {"a": 1}, 1.5):
        _error(world.post("sales_a", url, json={"limit": limit}), 400)
    _error(world.post("sales_a", f"/api/v1/acc.lead/{a1}/message_post", json={"body": "\x00"}), 400)


def test_deeply_nested_json_is_refused(world):
    deep = [["name", "=", "x"]]
    for _ in range(150):
        deep = [deep]
    _error(world.get("admin", f"/api/v1/acc.lead?domain={_q(deep)}"), 400)
    rule = {"name": "deep", "model": "acc.lead", "domain": deep}
    _error(world.post("admin", "/api/v1/ir.rule", json=rule), 400)
    nested = "[" * 900 + "]" * 900  # parses, but could not be stored back
    response = world.client.post(
        "/api/v1/ir.rule",
        headers=world.headers("admin"),
        data='{"name": "deep", "model": "acc.lead", "domain": ' + nested + "}",
        content_type="application/json",
    )
    _error(response, 400)


def test_a_bug_is_logged_and_answered_as_json_500_without_details(world, monkeypatch, caplog):
    lead_class = world.app.extensions["kontora"].get().models["acc.lead"]

    def priority_score(self):
        raise RuntimeError("internal detail: secret-ish state")

    monkeypatch.setattr(lead_class, "priority_score", priority_score)
    with caplog.at_level(logging.ERROR, logger="core.rest.routes"):
        response = world.post("sales_a", f"/api/v1/acc.lead/{world.leads['a1']}/priority_score")
    error = _error(response, 500, "internal_error")
    assert "secret-ish" not in error["message"]
    assert "internal detail: secret-ish state" in caplog.text


def test_history_route_shows_changes_only_to_those_who_may_read_the_record(world):
    lead = world.leads["a1"]
    changed = world.patch("sales_a", f"/api/v1/acc.lead/{lead}", json={"stage": "lost"})
    assert changed.status_code == 200
    response = world.get("sales_a", f"/api/v1/acc.lead/{lead}/history")
    assert response.status_code == 200
    history = response.get_json()["history"]
    assert history[0]["event"] == "changed" and history[0]["author"] == "Salesman A"
    assert {"field": "stage", "field_desc": "Stage", "old": "Won", "new": "Lost"} in history[0][
        "changes"
    ]
    assert all(c["field"] != "cost" for entry in history for c in entry["changes"])
    assert history[-1]["event"] == "created"
    assert world.get("sales_b", f"/api/v1/acc.lead/{lead}/history").status_code == 404
    assert world.get("nogroup", f"/api/v1/acc.lead/{lead}/history").status_code == 403
    document = world.get("admin", "/api/v1/openapi.json").get_json()
    assert "/api/v1/acc.lead/{id}/history" in document["paths"]
