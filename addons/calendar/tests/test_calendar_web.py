"""The web client with contacts and calendar: pages render, and a salesman's lists, calendar
and partner card show only what the rules let him see."""

import datetime
import re

import pytest

from core.http.app import create_app


@pytest.fixture
def demo_site(shipped):
    registry = shipped.install(["calendar"], demo=True)
    with registry.transaction() as env:
        demo = env.ref("base.user_demo")
        demo.set_password("demo1234", check_policy=False)
    app = create_app(shipped.config)
    client = app.test_client()
    page = client.get("/web/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    answer = client.post(
        "/web/login", data={"login": "demo", "password": "demo1234", "csrf_token": token}
    )
    assert answer.status_code == 302
    return registry, client, demo


def test_contacts_and_activity_pages_render_for_a_salesman(demo_site):
    registry, client, demo = demo_site
    env = registry.env(su=True)
    own = env["res.partner"].search([("user_id", "=", demo.id), ("is_company", "=", True)], limit=1)
    activity = env["mail.activity"].search([("user_id", "=", demo.id)], limit=1)
    pages = [
        "/web/res.partner",
        f"/web/res.partner/{own.id}",
        "/web/res.partner/new",
        "/web/mail.activity",
        "/web/mail.activity?view=calendar",
        f"/web/mail.activity/{activity.id}",
        "/web/calendar.event?view=calendar",
        "/web/calendar.event",
    ]
    for url in pages:
        answer = client.get(url)
        assert answer.status_code == 200, url
    card = client.get(f"/web/res.partner/{own.id}").text
    assert own.name.replace("«", "&laquo;") in card or own.name in card


def test_a_salesman_never_sees_a_colleagues_partners_or_activities(demo_site):
    registry, client, demo = demo_site
    env = registry.env(su=True)
    theirs = env["res.partner"].search(
        [("user_id", "!=", demo.id), ("is_company", "=", True)], limit=1
    )
    their_activity = env["mail.activity"].search(
        [("user_id", "!=", demo.id), ("create_uid", "!=", demo.id)], limit=1
    )
    listing = client.get("/web/res.partner?limit=500").text
    assert theirs.name not in listing
    assert client.get(f"/web/res.partner/{theirs.id}").status_code == 404
    assert their_activity.summary not in client.get("/web/mail.activity?view=calendar").text
    assert client.get(f"/web/mail.activity/{their_activity.id}").status_code == 404


def test_the_client_card_counts_activities_and_meetings_and_lists_activities(demo_site):
    registry, client, demo = demo_site
    with registry.transaction(demo.id) as env:
        partner = env["res.partner"].create({"name": "Карточка клиента", "is_company": True})
        call = env.ref("calendar.mail_activity_data_call").id
        env["mail.activity"].create(
            [
                {"partner_id": partner.id, "activity_type_id": call, "summary": "Первый звонок"},
                {"partner_id": partner.id, "activity_type_id": call, "summary": "Второй звонок"},
            ]
        )
        start = datetime.datetime(2026, 3, 2, 10, 0)
        env["calendar.event"].create(
            {
                "name": "Встреча",
                "start": start,
                "stop": start,
                "partner_ids": [(6, 0, [partner.id])],
            }
        )
    card = client.get(f"/web/res.partner/{partner.id}").text
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", card))
    assert "2 Дела" in text and "1 Встречи" in text  # the demo user reads Russian
    assert "Первый звонок" in card and "Второй звонок" in card


def test_saving_a_duplicate_card_in_the_web_client_names_the_existing_one(demo_site):
    registry, client, demo = demo_site
    env = registry.env(su=True)
    existing = env["res.partner"].search(
        [("user_id", "=", demo.id), ("is_company", "=", True)], limit=1
    )
    with client.session_transaction() as session:
        token = session["csrf_token"]
    answer = client.post(
        "/web/res.partner/save",
        json={"values": {"name": "Тот же ИНН", "vat": existing.vat}},
        headers={"X-CSRF-Token": token},
    )
    assert answer.status_code in (400, 422), answer.get_data(as_text=True)
    error = answer.get_json()["error"]
    assert f"№{existing.id} {existing.name}" in error["message"]  # the demo user reads Russian
    assert env["res.partner"].search_count([("name", "=", "Тот же ИНН")]) == 0
