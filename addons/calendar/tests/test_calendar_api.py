"""Contacts and activities through the REST API: duplicates refused with the field named,
activities done with a result and followed by the next one, other people's work hidden."""

import pytest

from core.http.app import create_app


@pytest.fixture
def api(calendar):
    with calendar.transaction() as env:
        salesman = env.ref("contacts.group_sale_salesman").id
        keys = {}
        for login in ("anna", "boris"):
            user = env["res.users"].create(
                {"name": login.title(), "login": login, "groups_id": [(6, 0, [salesman])]}
            )
            keys[login] = (user.id, user.api_key_create(f"{login} key"))
    client = create_app(calendar.config).test_client()

    def call(method, login, url, **kwargs):
        headers = {"Authorization": f"Bearer {keys[login][1]}"}
        return getattr(client, method)(url, headers=headers, **kwargs)

    call.uid = {login: uid for login, (uid, _key) in keys.items()}
    return call


def test_a_duplicate_partner_is_refused_with_422_naming_the_existing_card(api):
    first = api(
        "post", "anna", "/api/v1/res.partner", json={"name": "Ромашка", "vat": "7707083893"}
    )
    assert first.status_code == 201, first.get_json()
    partner_id = first.get_json()["records"][0]["id"]
    again = api(
        "post", "anna", "/api/v1/res.partner", json={"name": "Ромашка 2", "vat": "7707083893"}
    )
    assert again.status_code == 422
    body = again.get_json()
    assert f"#{partner_id} Ромашка" in str(body)
    assert "vat" in str(body)
    bad = api("post", "anna", "/api/v1/res.partner", json={"name": "X", "vat": "123"})
    assert bad.status_code == 422 and "vat" in str(bad.get_json())


def test_an_activity_is_done_with_a_result_and_the_next_one_planned_through_the_api(api, calendar):
    partner = api("post", "anna", "/api/v1/res.partner", json={"name": "Вектор"}).get_json()[
        "records"
    ][0]["id"]
    env = calendar.env(su=True)
    call_type = env.ref("calendar.mail_activity_data_call").id
    meeting_type = env.ref("calendar.mail_activity_data_meeting").id
    created = api(
        "post",
        "anna",
        "/api/v1/mail.activity",
        json={"res_model": "res.partner", "res_id": partner, "activity_type_id": call_type},
    )
    assert created.status_code == 201, created.get_json()
    activity = created.get_json()["records"][0]["id"]
    no_result = api("post", "anna", f"/api/v1/mail.activity/{activity}/action_done", json={})
    assert no_result.status_code == 422
    done = api(
        "post",
        "anna",
        f"/api/v1/mail.activity/{activity}/action_done_schedule_next",
        json={"result": "Договорились о встрече", "next_vals": {"activity_type_id": meeting_type}},
    )
    assert done.status_code == 200, done.get_json()
    following = env["mail.activity"].search([("res_id", "=", partner), ("done", "=", False)])
    assert following.activity_type_id.id == meeting_type
    assert following.user_id.id == api.uid["anna"]
    # Boris sees neither Anna's activities nor her partner.
    assert api("get", "boris", f"/api/v1/mail.activity/{following.id}").status_code == 404
    assert api("get", "boris", f"/api/v1/res.partner/{partner}").status_code == 404
    listed = api("get", "boris", "/api/v1/mail.activity").get_json()
    assert listed["records"] == []


@pytest.mark.parametrize(
    "url_tail, payload",
    [
        ("", {"res_model": "no.such.model", "res_id": 1}),
        ("", {"res_model": "res.partner", "res_id": 999999}),
        ("", {"res_model": "res.partner"}),
        ("", {"user_ids": "everyone"}),
        ("", {"user_ids": [[9, 9]]}),
        ("/{id}/action_done_schedule_next", {"result": "ok", "next_vals": "tomorrow"}),
        ("/{id}/action_done_schedule_next", {"result": "ok", "next_vals": {"no_field": 1}}),
        ("/{id}/action_done_schedule_next", {"result": "ok", "next_vals": {"date_deadline": "x"}}),
        ("/{id}/action_done", {"result": ["not", "text"]}),
        ("/{id}/action_set_task_state", {"task_state": "flying"}),
    ],
)
def test_bad_activity_input_gets_a_4xx_and_changes_nothing(api, calendar, url_tail, payload):
    env = calendar.env(su=True)
    call_type = env.ref("calendar.mail_activity_data_call").id
    created = api(
        "post", "anna", "/api/v1/mail.activity", json={"activity_type_id": call_type}
    ).get_json()["records"][0]["id"]
    before = env["mail.activity"].search_count([])
    if url_tail:
        url = "/api/v1/mail.activity" + url_tail.format(id=created)
        answer = api("post", "anna", url, json=payload)
    else:
        answer = api(
            "post", "anna", "/api/v1/mail.activity", json={"activity_type_id": call_type, **payload}
        )
    assert 400 <= answer.status_code < 500, answer.get_json()
    assert answer.get_json()["error"]["message"]
    env = calendar.env(su=True)
    assert env["mail.activity"].search_count([]) == before
    assert not env["mail.activity"].browse(created).done


def test_a_colleagues_partners_and_activities_stay_out_of_exports_groupings_and_autocomplete(
    api, calendar
):
    env = calendar.env(su=True)
    with calendar.transaction() as tx:
        annas = tx["res.partner"].create(
            {"name": "Тайный клиент Анны", "email": "secret@anna.ru", "user_id": api.uid["anna"]}
        )
        tx["mail.activity"].create(
            {
                "partner_id": annas.id,
                "summary": "Тайный звонок",
                "user_id": api.uid["anna"],
                "activity_type_id": env.ref("calendar.mail_activity_data_call").id,
            }
        )
    exported = api("get", "boris", "/api/v1/res.partner/export?fields=name,email").get_data(
        as_text=True
    )
    assert "Тайный" not in exported and "secret@anna.ru" not in exported
    exported = api(
        "get", "boris", "/api/v1/mail.activity/export?fields=summary,partner_id"
    ).get_data(as_text=True)
    assert "Тайный" not in exported
    groups = api("get", "boris", "/api/v1/mail.activity/read_group?groupby=user_id").get_json()
    assert groups["groups"] == []
    found = api("get", "boris", "/api/v1/res.partner/name_search?name=Тайный").get_json()
    assert found["records"] == []
    # Anna herself finds everything.
    found = api("get", "anna", "/api/v1/res.partner/name_search?name=secret@anna").get_json()
    assert [r["display_name"] for r in found["records"]] == ["Тайный клиент Анны"]
