"""PDF reports: printed only for records the user may read, without restricted fields, from
the API and from the web session; clear errors for bad requests; Russian titles."""

from __future__ import annotations

import io
import re

import pytest
from api_support import PASSWORD, build_world
from pypdf import PdfReader


@pytest.fixture
def world(install, config):
    return build_world(install, config)


def _text(response) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(response.data))
    return "\n".join(page.extract_text() for page in reader.pages)


def _api(world, login, ids, name="base.record_summary", model="acc.lead"):
    query = f"ids={ids}" + (f"&model={model}" if model else "")
    return world.get(login, f"/api/v1/report/{name}?{query}")


def test_a_salesman_prints_his_lead_without_the_fields_kept_from_him(world):
    lead = world.leads["a1"]
    text = _text(_api(world, "sales_a", lead))
    assert "A first deal" in text and "Alpha LLC" in text
    assert "Expected revenue" in text and "1000.00" in text
    assert "Cost" not in text and "300.00" not in text
    # The manager's group may see the cost: the same report shows it to him.
    text = _text(_api(world, "manager", lead))
    assert "Cost" in text and "300.00" in text


def test_records_outside_the_rules_are_not_found_and_nothing_is_printed(world):
    a1, b1 = world.leads["a1"], world.leads["b1"]
    for ids in (b1, f"{a1},{b1}"):
        response = _api(world, "sales_a", ids)
        assert response.status_code == 404 and response.mimetype == "application/json"
        assert response.get_json()["error"]["code"] == "not_found"
        assert b"B secret deal" not in response.data and b"%PDF" not in response.data
    # A related record he may not read prints as restricted, not by name.
    text = _text(_api(world, "sales_a", world.leads["a2"]))
    assert "A child of B" in text and "Restricted" in text and "B secret deal" not in text


def test_users_without_read_rights_get_403(world):
    response = _api(world, "nogroup", world.leads["a1"])
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "forbidden"
    assert b"A first deal" not in response.data
    # Models nobody but trusted code reads: not even administrators print them.
    response = _api(world, "admin", 1, model="res.users.credential")
    assert response.status_code == 403


def test_several_records_print_in_the_order_asked(world):
    a1, a2 = world.leads["a1"], world.leads["a2"]
    text = _text(_api(world, "manager", f"{a2}, {a1}"))
    assert text.index("A child of B") < text.index("A first deal")


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("ids=abc&model=acc.lead", 400),
        ("ids=1,,2&model=acc.lead", 400),
        ("ids=&model=acc.lead", 400),
        ("model=acc.lead", 400),
        ("ids=" + ",".join(str(i) for i in range(1, 202)) + "&model=acc.lead", 400),
        ("ids=1", 400),  # a generic report needs the model
        ("ids=1&model=no.such.model", 404),
        ("ids=99999999&model=acc.lead", 404),
    ],
)
def test_bad_report_requests_get_a_clear_error(world, query, status):
    response = world.get("manager", f"/api/v1/report/base.record_summary?{query}")
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.get_json()["error"]["message"]


def test_unknown_reports_are_404(world):
    response = world.get("manager", "/api/v1/report/no.such_report?ids=1")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def _signed_in(world, login):
    world.set_passwords(login)
    client = world.app.test_client()
    page = client.get("/web/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    done = client.post(
        "/web/login", data={"login": login, "password": PASSWORD, "csrf_token": token}
    )
    assert done.status_code == 302
    return client


def test_the_web_route_prints_for_the_signed_in_user_only(world):
    a1, b1 = world.leads["a1"], world.leads["b1"]
    anonymous = world.app.test_client().get(f"/report/base.record_summary/{a1}.pdf?model=acc.lead")
    assert anonymous.status_code == 401 and b"A first deal" not in anonymous.data
    client = _signed_in(world, "sales_a")
    text = _text(client.get(f"/report/base.record_summary/{a1}.pdf?model=acc.lead"))
    assert "A first deal" in text and "300.00" not in text
    hidden = client.get(f"/report/base.record_summary/{b1}.pdf?model=acc.lead")
    assert hidden.status_code == 404 and b"B secret deal" not in hidden.data
    assert client.get("/report/base.record_summary/x.pdf?model=acc.lead").status_code in (400, 404)
    assert client.get(f"/report/base.record_summary/{a1}.pdf").status_code == 400
    nogroup = _signed_in(world, "nogroup")
    refused = nogroup.get(f"/report/base.record_summary/{a1}.pdf?model=acc.lead")
    assert refused.status_code == 403 and b"A first deal" not in refused.data
    assert refused.get_data(as_text=True).strip() == "You may not read these records"
    with world.registry.transaction() as env:
        env["res.users"].sudo().browse(world.uids["sales_a"]).write({"lang": "ru"})
    hidden = client.get(f"/report/base.record_summary/{b1}.pdf?model=acc.lead")
    assert hidden.status_code == 404
    assert "недоступны" in hidden.get_data(as_text=True)


def test_the_report_speaks_the_users_language(world):
    with world.registry.transaction() as env:
        env["res.users"].sudo().browse(world.uids["sales_a"]).write({"lang": "ru"})
    text = _text(_api(world, "sales_a", world.leads["a1"]))
    assert "Сводка записи" in text and "A first deal" in text


def test_the_document_describes_the_report_route(world):
    document = world.get("manager", "/api/v1/openapi.json").get_json()
    operation = document["paths"]["/api/v1/report/{name}"]["get"]
    names = [p for p in operation["parameters"] if p["name"] == "name"][0]["schema"]["enum"]
    assert "base.record_summary" in names
    assert "application/pdf" in operation["responses"]["200"]["content"]
