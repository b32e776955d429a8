"""Who sees which activities and events: own, set for colleagues, attended; managers all."""

import datetime

import pytest

from core.exceptions import AccessError


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
    from core.exceptions import ValidationError

    start = datetime.datetime(2026, 3, 2, 10, 0)
    with (
        pytest.raises(ValidationError, match="end before") as caught,
        calendar.transaction() as env,
    ):
        env["calendar.event"].create(
            {"name": "Backwards", "start": start, "stop": start - datetime.timedelta(hours=1)}
        )
    assert caught.value.field == "stop"
