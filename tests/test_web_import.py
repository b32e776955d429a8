"""Import and export pages through Flask's test client, as a salesman who sees only his deals."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

import openpyxl
import pytest
from web_support import signed_in

from core.http.app import create_app
from core.modules.manager import AddonManager

FIXTURE_ADDONS = Path(__file__).resolve().parent / "fixtures" / "addons"

PASSWORD = "secret-pass-1"
CSV_TWO_BAD_ROWS = (
    b"Name;Stage;Status;Customer\r\n"
    b"Deal A;New;Draft;Acme\r\n"
    b"Deal B;Nowhere;Draft;Beta\r\n"  # row 3: no such stage
    b"Deal C;Won;Confirmed;Gamma\r\n"
    b"Deal D;Proposal;sideways;Delta\r\n"  # row 5: no such status
)


@pytest.fixture
def web(make_config):
    """fx_web with salesmen Anna and Boris (own deals only) and one deal of Boris's."""
    config = make_config(paths=[FIXTURE_ADDONS])
    registry = AddonManager(config).install(["fx_web"])
    with registry.transaction() as env:
        own = env.ref("fx_web.group_own").id
        users = {}
        for login in ("anna", "boris"):
            user = env["res.users"].create(
                {"name": login.title(), "login": login, "groups_id": [(6, 0, [own])]}
            )
            user.set_password(PASSWORD)
            users[login] = user.id
        env["fxw.deal"].create({"name": "Boris's deal", "user_id": users["boris"]})
    return create_app(config), registry, users


def upload(client, content, filename="deals.csv", model="fxw.deal"):
    return client.post(
        f"/web/{model}/import",
        data={"csrf_token": client.token, "file": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
    )


def file_id(page) -> str:
    return re.search(r'name="file_id" value="(\d+)"', page).group(1)


def selected_fields(page) -> list:
    """The field chosen in each column's select of the preview."""
    chosen = []
    for select in re.findall(r'<select name="map_\d+".*?</select>', page, re.S):
        found = re.search(r'<option value="([^"]*)" selected>', select)
        chosen.append(found.group(1) if found else "")
    return chosen


def run(client, fid, mapping, action="import", skip=False, model="fxw.deal"):
    data = {"csrf_token": client.token, "file_id": fid, "action": action}
    data.update({f"map_{i}": path for i, path in enumerate(mapping)})
    if skip:
        data["skip_errors"] = "1"
    return client.post(f"/web/{model}/import", data=data)


def error_rows(page) -> list:
    body = page.split("data-import-errors", 1)[1].split("</table>", 1)[0]
    cells = re.findall(r"<tr data-row[^>]*><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", body)
    return [(row, html.unescape(column), html.unescape(msg)) for row, column, msg in cells]


def deal_names(registry, login):
    with registry.transaction(write=False) as env:
        deals = env["fxw.deal"].sudo().search([("user_id.login", "=", login)])
        return sorted(deals.mapped("name"))


def test_upload_shows_the_rows_and_a_field_suggested_for_each_column(web):
    app, _registry, _users = web
    client = signed_in(app, "anna")
    assert "multipart/form-data" in client.get("/web/fxw.deal/import").text
    response = upload(client, CSV_TWO_BAD_ROWS)
    assert response.status_code == 200
    page = response.text
    assert "Deal B" in page and "Nowhere" in page
    assert selected_fields(page) == ["name", "stage_id", "state", "partner_name"]


def test_two_bad_rows_are_shown_with_row_and_column_and_nothing_is_imported(web):
    app, registry, _users = web
    client = signed_in(app, "anna")
    fid = file_id(upload(client, CSV_TWO_BAD_ROWS).text)
    mapping = ["name", "stage_id", "state", "partner_name"]

    response = run(client, fid, mapping)
    assert response.status_code == 422
    rows = error_rows(response.text)
    assert [(r, c) for r, c, _m in rows] == [("3", "Stage"), ("5", "Status")]
    assert "Nowhere" in rows[0][2] and "Draft, Confirmed, Done" in rows[1][2]
    assert deal_names(registry, "anna") == []

    response = run(client, fid, mapping, skip=True)
    assert response.status_code == 200
    assert "2 records created" in response.text
    assert [(r, c) for r, c, _m in error_rows(response.text)] == [("3", "Stage"), ("5", "Status")]
    assert deal_names(registry, "anna") == ["Deal A", "Deal C"]


def test_test_run_reports_what_would_happen_and_writes_nothing(web):
    app, registry, _users = web
    client = signed_in(app, "anna")
    content = b"Name,Stage\r\nX,New\r\nY,Won\r\n"
    fid = file_id(upload(client, content).text)
    response = run(client, fid, ["name", "stage_id"], action="test")
    assert response.status_code == 200
    assert "2 records would be created" in response.text
    assert deal_names(registry, "anna") == []


def test_the_mapping_chosen_is_offered_again_next_time(web):
    app, _registry, _users = web
    client = signed_in(app, "anna")
    content = b"Kunde,Bezeichnung\r\nAcme,Deal\r\n"
    page = upload(client, content).text
    assert selected_fields(page) == ["", ""]
    run(client, file_id(page), ["partner_name", "name"])
    assert selected_fields(upload(client, content).text) == ["partner_name", "name"]
    boris = signed_in(app, "boris")
    assert selected_fields(upload(boris, content).text) == ["", ""]


def test_bad_input_gets_a_clear_page_never_a_server_error(web):
    app, _registry, _users = web
    client = signed_in(app, "anna")
    response = upload(client, b"\x00\x01\x02\x03", "junk.bin")
    assert response.status_code == 400 and "neither CSV" in response.text
    response = upload(client, b"PK\x03\x04broken", "broken.xlsx")
    assert response.status_code == 400 and "XLSX" in response.text
    response = client.post(
        "/web/fxw.deal/import",
        data={"csrf_token": client.token},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    page = upload(client, b"Name\r\nX\r\n", "..\\dir/we\x00ird\x1b.csv").text
    assert "File: weird.csv" in page
    fid = file_id(page)
    response = run(client, fid, ["no_such_field"])
    assert response.status_code == 400 and "no_such_field" in response.text
    response = run(signed_in(app, "boris"), fid, ["name"])
    assert response.status_code == 400 and "no longer available" in response.text
    response = run(client, "abc", ["name"])
    assert response.status_code == 400
    assert client.get("/web/no.such.model/import").status_code == 404
    assert upload(client, b"Name\r\nX\r\n", model="res.users.credential").status_code == 403
    response = client.post("/web/fxw.deal/import", data={"file_id": fid, "map_0": "name"})
    assert response.status_code == 400  # no CSRF token
    anonymous = app.test_client()
    assert anonymous.get("/web/fxw.deal/import").status_code == 302


def test_russian_interface_shows_errors_in_russian(web):
    app, registry, users = web
    with registry.transaction() as env:
        env["res.users"].browse(users["anna"]).write({"lang": "ru"})
    client = signed_in(app, "anna")
    page = upload(client, "Название;Этап\r\nX;Нигде\r\n".encode()).text
    assert selected_fields(page)[0] == "name"
    response = run(client, file_id(page), ["name", "stage_id"])
    assert response.status_code == 422
    assert "Не найдено" in error_rows(response.text)[0][2]


def test_export_of_selected_records_reimports_as_updates(web):
    app, registry, _users = web
    client = signed_in(app, "anna")
    fid = file_id(upload(client, b"Name,Stage,Customer\r\nA1,New,=1+2\r\nA2,Won,Beta\r\n").text)
    run(client, fid, ["name", "stage_id", "partner_name"])
    with registry.transaction(write=False) as env:
        ids = env["fxw.deal"].sudo().search([]).ids  # Boris's deal too: the rules drop it
    response = client.post(
        "/web/fxw.deal/export",
        data={
            "csrf_token": client.token,
            "ids": ",".join(map(str, ids)),
            "fields": "id,name,stage_id,partner_name",
            "format": "csv",
        },
    )
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="fxw.deal.csv"'
    lines = response.data.decode("utf-8-sig").splitlines()
    assert lines[0] == "id,name,stage_id,partner_name"
    assert [line.split(",", 1)[1] for line in lines[1:]] == ["A1,New,'=1+2", "A2,Won,Beta"]

    changed = "\r\n".join([lines[0], lines[1].replace("A1", "A1 renamed")]).encode()
    page = upload(client, changed).text
    assert selected_fields(page) == ["id", "name", "stage_id", "partner_name"]
    response = run(client, file_id(page), ["id", "name", "stage_id", "partner_name"])
    assert "0 records created, 1 updated" in response.text
    assert deal_names(registry, "anna") == ["A1 renamed", "A2"]
    with registry.transaction(write=False) as env:
        assert env["fxw.deal"].sudo().search([("name", "=", "A1 renamed")]).partner_name == "=1+2"


def test_export_by_domain_to_xlsx_and_choice_of_fields(web):
    app, _registry, _users = web
    client = signed_in(app, "anna")
    run(
        client,
        file_id(upload(client, b"Name,Stage\r\nA1,New\r\nA2,Won\r\n").text),
        ["name", "stage_id"],
    )
    response = client.post("/web/fxw.deal/export", data={"csrf_token": client.token, "ids": ""})
    assert response.status_code == 200 and 'name="fields" value="stage_id"' in response.text
    response = client.post(
        "/web/fxw.deal/export",
        data={
            "csrf_token": client.token,
            "domain": '[["stage_id.name", "=", "Won"]]',
            "fields": ["name", "stage_id"],
            "format": "xlsx",
        },
    )
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    assert [list(r) for r in sheet.iter_rows(values_only=True)] == [
        ["name", "stage_id"],
        ["A2", "Won"],
    ]
    for bad in ({"domain": "[oops"}, {"domain": '[["nope", "=", 1]]'}, {"ids": "1,x"}):
        data = {"csrf_token": client.token, "fields": "name", **bad}
        assert client.post("/web/fxw.deal/export", data=data).status_code == 400
    data = {"csrf_token": client.token, "fields": "name", "format": "pdf"}
    assert client.post("/web/fxw.deal/export", data=data).status_code == 400


@pytest.mark.parametrize(
    "data",
    [
        {"file_id": "9" * 30, "map_0": "name"},
        {"file_id": "-1", "map_0": "name"},
        {"file_id": "1", "map_0": "name/../../etc"},
        {"file_id": "1", "map_0": "x" * 5000},
    ],
)
def test_hostile_import_requests_are_refused_cleanly(web, data):
    app, _registry, _users = web
    client = signed_in(app, "anna")
    response = client.post("/web/fxw.deal/import", data={"csrf_token": client.token, **data})
    assert response.status_code == 400


@pytest.mark.parametrize(
    "data",
    [
        {"ids": "9" * 30},
        {"domain": '[["id", "=", 100000000000000000000000000000]]'},
        {"domain": '[["name", "=", "\\u0000"]]'},
        {"domain": '{"a": 1}'},
        {"domain": '[["name", "=", "x"], "|"]'},
        {"fields": "name.x.y.z.w"},
        {"fields": "line_ids/name"},
    ],
)
def test_hostile_export_requests_are_refused_cleanly(web, data):
    app, _registry, _users = web
    client = signed_in(app, "anna")
    body = {"csrf_token": client.token, "fields": "name", "format": "csv", **data}
    response = client.post("/web/fxw.deal/export", data=body)
    assert response.status_code == 400, response.text[:300]
