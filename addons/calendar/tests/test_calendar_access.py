"""Who sees which activities and events: own, set for colleagues, attended; managers all."""

import datetime

import pytest

from core import AccessError, ValidationError


@pytest.fixture
def people(calendar):
    with calendar.transaction() as env:

        def user(login, group):
            return env["res.users"].create(
                {
                    "name": login.title(),
                    "login": login,
                    "email": f"{login}@example.com",
                    "groups_id": [(6, 0, [env.ref(group).id])],
                }
            )

        return {
            "anna": user("anna", "contacts.group_sale_salesman"),
            "boris": user("boris", "contacts.group_sale_salesman"),
            "boss": user("boss", "contacts.group_sale_manager"),
        }


def test_users_see_their_own_activities_and_those_they_set_managers_all(calendar, people):
    anna, boris, boss = people["anna"], people["boris"], people["boss"]
    with calendar.transaction(anna.id) as env:
        call = env.ref("calendar.mail_activity_data_call").id
        Activity = env["mail.activity"].with_context(mail_activity_quiet=True)
        Activity.create({"activity_type_id": call, "summary": "Anna's call"})
        Activity.create(
            {"activity_type_id": call, "summary": "For Boris from Anna", "user_id": boris.id}
        )
    with calendar.transaction(boris.id) as env:
        mine = env["mail.activity"].create({"activity_type_id": call, "summary": "Boris's call"})
    with calendar.transaction(anna.id) as env:
        assert sorted(env["mail.activity"].search([]).mapped("summary")) == [
            "Anna's call",
            "For Boris from Anna",
        ]
        assert env["mail.activity"].read_group([], ["user_id"], ["__count"]) and all(
            g["user_id"][0] in (anna.id, boris.id)
            for g in env["mail.activity"].read_group([], ["user_id"], ["__count"])
        )
    with pytest.raises(AccessError), calendar.transaction(anna.id) as env:
        env["mail.activity"].browse(mine.id).action_done("Not mine")
    with calendar.transaction(boss.id) as env:
        assert env["mail.activity"].search_count([]) == 3


def test_events_are_seen_by_organiser_and_attending_colleagues(calendar, people):
    anna, boris, boss = people["anna"], people["boris"], people["boss"]
    start = datetime.datetime(2026, 3, 2, 10, 0)
    with calendar.transaction(anna.id) as env:
        Event = env["calendar.event"]
        Event.create({"name": "Alone", "start": start, "stop": start + datetime.timedelta(hours=1)})
        Event.create(
            {
                "name": "With Boris",
                "start": start,
                "stop": start + datetime.timedelta(hours=2),
                "attendee_user_ids": [(6, 0, [boris.id])],
            }
        )
    with calendar.transaction(boris.id) as env:
        assert env["calendar.event"].search([]).mapped("name") == ["With Boris"]
        assert env["calendar.event"].search([]).duration == 2.0
    with calendar.transaction(boss.id) as env:
        assert env["calendar.event"].search_count([]) == 2


def test_an_event_ending_before_it_starts_is_refused(calendar):
    from core import ValidationError

    start = datetime.datetime(2026, 3, 2, 10, 0)
    with (
        pytest.raises(ValidationError, match="end before") as caught,
        calendar.transaction() as env,
    ):
        env["calendar.event"].create(
            {"name": "Backwards", "start": start, "stop": start - datetime.timedelta(hours=1)}
        )
    assert caught.value.field == "stop"


def test_linking_an_activity_or_event_to_a_record_one_cannot_read_is_refused(calendar, people):
    anna, boris = people["anna"], people["boris"]
    with calendar.transaction(anna.id) as env:
        annas = env["res.partner"].create({"name": "Клиент Анны"})
    call = calendar.env(su=True).ref("calendar.mail_activity_data_call").id
    start = datetime.datetime(2026, 3, 2, 10, 0)
    attempts = [
        ("mail.activity", {"res_model": "res.partner", "res_id": annas.id}),
        ("mail.activity", {"partner_id": annas.id}),
        ("mail.activity", {"res_model": "ir.rule", "res_id": 1}),
        ("calendar.event", {"res_model": "res.partner", "res_id": annas.id}),
    ]
    for model, link in attempts:
        vals = (
            {"activity_type_id": call, **link}
            if model == "mail.activity"
            else {"name": "Подглядеть", "start": start, "stop": start, **link}
        )
        refused = pytest.raises(ValidationError, match="not yours to see")
        with refused as caught, calendar.transaction(boris.id) as env:
            env[model].create(vals)
        assert "Клиент Анны" not in str(caught.value)
    env = calendar.env(su=True)
    assert env["mail.activity"].search_count([]) == 0
    assert env["calendar.event"].search_count([]) == 0
