"""The website form: leads from real posts, junk refused with a clear 400, posts rate limited."""

import json
import time

import pytest

GOOD = {"fio": "Вера Соколова", "tel": "+7 903 555-44-33", "email": "vera@example.ru"}


def post(world, data=None, ip="198.51.100.20", key=None, **kwargs):
    return world.client.post(
        f"/crm/webform/{key or world.webform_key}",
        data=data,
        environ_base={"REMOTE_ADDR": ip},
        **kwargs,
    )


def lead_count(world):
    env = world.registry.env(su=True)
    return env["crm.lead"].with_context(active_test=False).search_count([])


def test_a_json_post_creates_a_lead_and_answers_201(world):
    response = post(
        world,
        data=json.dumps({**GOOD, "comment": "Перезвоните после обеда", "utm_medium": "cpc"}),
        content_type="application/json",
    )
    assert response.status_code == 201
    lead_id = response.get_json()["id"]
    lead = world.registry.env(su=True)["crm.lead"].browse(lead_id)
    assert (lead.contact_name, lead.phone, lead.email_from) == (
        "Вера Соколова",
        "+7 903 555-44-33",
        "vera@example.ru",
    )
    assert lead.name == "Request from the website: Вера Соколова"
    assert (lead.source_id.name, lead.medium_id.name, lead.team_id.id) == (
        "Website",
        "cpc",
        world.team_id,
    )
    assert lead.user_id.id == world.uids["sales_a"]  # the team's first turn


def test_a_multipart_post_is_accepted_as_the_site_sends_it(world):
    response = post(world, data=GOOD, content_type="multipart/form-data")
    assert response.status_code == 303
    assert lead_count(world) == 1


@pytest.mark.parametrize(
    "data, field, words",
    [
        ({**GOOD, "url2": "http://spam.example"}, "url2", "not filled in by a person"),
        ({"email": "vera@example.ru"}, "fio", "Required fields are missing: fio, tel"),
        ({**GOOD, "email": "vera at example"}, "email_from", "not an e-mail address"),
    ],
)
def test_junk_is_refused_with_400_naming_the_problem_and_nothing_is_created(
    world, data, field, words
):
    response = post(world, data=data)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert words in error["message"]
    assert field in error["fields"]
    assert lead_count(world) == 0


def test_unreadable_or_oversized_bodies_are_refused(world):
    bad_json = post(world, data="{not json", content_type="application/json")
    assert bad_json.status_code == 400 and "JSON" in bad_json.get_json()["error"]["message"]
    not_object = post(world, data="[1, 2]", content_type="application/json")
    assert not_object.status_code == 400
    huge = post(world, data={**GOOD, "comment": "x" * 70_000})
    assert huge.status_code == 413
    long_field = post(world, data={**GOOD, "comment": "y" * 6000})
    assert long_field.status_code == 400 and "comment" in long_field.get_json()["error"]["fields"]
    xml = post(world, data="<lead/>", content_type="application/xml")
    assert xml.status_code == 400
    assert post(world, data=GOOD, key="no-such-form").status_code == 404
    assert lead_count(world) == 0


def test_the_form_needs_no_csrf_token_and_no_session(world):
    # A plain cross-site post, as a customer's browser sends it from the company's website.
    response = world.client.post(
        f"/crm/webform/{world.webform_key}",
        data=GOOD,
        headers={"Origin": "https://shop.example.ru"},
    )
    assert response.status_code == 303


def test_a_thousand_posts_from_one_address_in_a_minute_are_rate_limited(world):
    if time.time() % 60 > 40:  # let the first sixty posts fall within one minute
        time.sleep(61 - time.time() % 60)
    statuses = [post(world, data=GOOD, ip="192.0.2.99").status_code for _ in range(1000)]
    assert statuses[:60] == [303] * 60
    assert set(statuses[60:]) == {429}
    assert lead_count(world) == 60
    # Another address is not affected.
    assert post(world, data=GOOD, ip="192.0.2.100").status_code == 303
    refused = post(world, data=GOOD, ip="192.0.2.99")
    assert refused.headers["Retry-After"] == "60"


def test_create_leads_from_code_assigns_and_finds_or_makes_the_source(world, capture):
    with world.registry.transaction() as env:
        leads = capture.create_leads(
            env,
            [{"phone": "+7 495 000-00-01"}, {"email_from": "ivan@example.ru", "name": "Прайс"}],
            source="Phone",
            team=world.team_id,
        )
        assert leads.mapped("name") == ["+7 495 000-00-01", "Прайс"]
        assert [lead.source_id.name for lead in leads] == ["Phone", "Phone"]
        assert [lead.user_id.login for lead in leads] == ["sales_a", "sales_b"]
        fresh = capture.create_leads(env, {"phone": "1"}, source="Avito")
        assert fresh.source_id.name == "Avito" and not fresh.user_id
