"""Activities: states, marking done with a result, done-and-next, group reminders, rights."""

import datetime

import pytest

from core import UserError, ValidationError


def _partner(env, name="ООО «Ромашка»"):
    return env["res.partner"].create({"name": name, "is_company": True})


def test_state_follows_the_due_date(calendar):
    today = datetime.date.today()
    with calendar.transaction() as env:
        call = env.ref("calendar.mail_activity_data_call").id
        Activity = env["mail.activity"]
        states = {
            days: Activity.create(
                {
                    "activity_type_id": call,
                    "summary": f"d{days}",
                    "date_deadline": today + datetime.timedelta(days=days),
                }
            ).state
            for days in (-1, 0, 2)
        }
        assert states == {-1: "overdue", 0: "today", 2: "planned"}


def test_marking_done_needs_a_result_and_writes_it_to_the_record_history(calendar):
    with calendar.transaction() as env:
        partner = _partner(env)
        activity = env["mail.activity"].create(
            {
                "res_model": "res.partner",
                "res_id": partner.id,
                "activity_type_id": env.ref("calendar.mail_activity_data_call").id,
                "summary": "Позвонить",
            }
        )
        assert (activity.res_name, activity.partner_id) == ("ООО «Ромашка»", partner)
    with pytest.raises(ValidationError, match="result") as caught, calendar.transaction() as env:
        env["mail.activity"].browse(activity.id).action_done("  ")
    assert caught.value.field == "result"
    with calendar.transaction() as env:
        activity = env["mail.activity"].browse(activity.id)
        assert not activity.done
        activity.action_done("Клиент просит КП до пятницы")
        assert (activity.done, activity.state, activity.result) == (
            True,
            "done",
            "Клиент просит КП до пятницы",
        )
        assert activity.date_done is not None
        notes = [
            h["body"]
            for h in env["res.partner"].browse(partner.id).message_history()
            if h["event"] == "note"
        ]
        assert notes == ["Call «Позвонить»: Клиент просит КП до пятницы"]


def test_done_and_schedule_next_is_one_action(calendar):
    with calendar.transaction() as env:
        partner = _partner(env)
        call = env["mail.activity"].create(
            {
                "res_model": "res.partner",
                "res_id": partner.id,
                "activity_type_id": env.ref("calendar.mail_activity_data_call").id,
            }
        )
    bad_next = {
        "activity_type_id": env.ref("calendar.mail_activity_data_meeting").id,
        "date_deadline": "not a date",
    }
    with pytest.raises(ValidationError), calendar.transaction() as env:
        env["mail.activity"].browse(call.id).action_done_schedule_next("Договорились", bad_next)
    env = calendar.env(su=True)
    assert not env["mail.activity"].browse(call.id).done  # nothing half-done
    with calendar.transaction() as env:
        meeting = env.ref("calendar.mail_activity_data_meeting").id
        answer = (
            env["mail.activity"]
            .browse(call.id)
            .action_done_schedule_next("Договорились о встрече", {"activity_type_id": meeting})
        )
        following = env["mail.activity"].browse(answer["id"])
        assert answer["url"] == f"/web/mail.activity/{following.id}"
        assert (following.summary, following.res_id, following.partner_id, following.done) == (
            "Meeting",
            partner.id,
            partner,
            False,
        )
        assert following.date_deadline == datetime.date.today() + datetime.timedelta(days=1)


def test_a_group_reminder_makes_one_activity_per_user(calendar):
    with calendar.transaction() as env:
        users = env["res.users"].create([{"name": f"U{i}", "login": f"u{i}"} for i in range(3)])
        created = env["mail.activity"].create(
            {
                "activity_type_id": env.ref("calendar.mail_activity_data_todo").id,
                "summary": "Подготовить отчёт",
                "user_ids": users.ids,
            }
        )
        assert sorted(created.mapped("user_id.id")) == sorted(users.ids)
        assert set(created.mapped("task_state")) == {"planned"}


def test_the_form_way_result_typed_first_then_the_button(calendar):
    with calendar.transaction() as env:
        activity = env["mail.activity"].create(
            {"activity_type_id": env.ref("calendar.mail_activity_data_todo").id, "summary": "Счёт"}
        )
        assert activity.task_state == "planned"
        with pytest.raises(ValidationError, match="result"):
            activity.action_done()
        activity.write({"result": "Выставлен счёт №12"})
        activity.action_done()
        assert (activity.done, activity.task_state) == (True, "done")


def test_an_activity_planned_from_the_client_card_is_about_the_partner(calendar):
    with calendar.transaction() as env:
        partner = _partner(env)
        partner.write(
            {
                "activity_ids": [
                    (0, 0, {"activity_type_id": env.ref("calendar.mail_activity_data_call").id})
                ]
            }
        )
        activity = partner.activity_ids
        assert (activity.res_model, activity.res_id, activity.res_name) == (
            "res.partner",
            partner.id,
            "ООО «Ромашка»",
        )


def test_a_held_meeting_writes_its_result_to_the_linked_record_history(calendar):
    start = datetime.datetime(2026, 3, 2, 10, 0)
    with calendar.transaction() as env:
        partner = _partner(env)
        event = env["calendar.event"].create(
            {
                "name": "Переговоры",
                "start": start,
                "stop": start + datetime.timedelta(hours=1),
                "res_model": "res.partner",
                "res_id": partner.id,
                "partner_ids": [(6, 0, [partner.id])],
            }
        )
        event.action_mark_held("Подписали протокол")
        assert (event.state, event.result) == ("held", "Подписали протокол")
        notes = [h["body"] for h in partner.message_history() if h["event"] == "note"]
        assert notes == ["Meeting «Переговоры» held: Подписали протокол"]
        with pytest.raises(UserError):
            event.action_mark_not_held()
    with pytest.raises(ValidationError, match="does not exist"), calendar.transaction() as env:
        env["calendar.event"].create(
            {
                "name": "X",
                "start": start,
                "stop": start,
                "res_model": "res.partner",
                "res_id": 10**9,
            }
        )


def test_demo_activities_and_meetings_load_and_follow_the_rules(shipped):
    registry = shipped.install(["calendar"], demo=True)
    env = registry.env(su=True)
    demo = env.ref("base.user_demo")
    assert env["mail.activity"].search_count([]) == 20
    assert env["calendar.event"].search_count([]) == 8
    assert {a.state for a in env["mail.activity"].search([])} == {
        "overdue",
        "today",
        "planned",
        "done",
    }
    with registry.transaction(demo.id) as user_env:
        mine = user_env["mail.activity"].search([])
        assert mine and set(mine.mapped("user_id.id")) == {demo.id}
        # His activities are about his own clients: none shows as "Restricted".
        assert all(row["partner_id"][1] != "Restricted" for row in mine.read(["partner_id"]))
        assert user_env["calendar.event"].search_count([]) == 8  # he organises them all


def test_saving_an_activity_with_colleagues_to_remind_gives_each_a_copy(calendar):
    with calendar.transaction() as env:
        users = env["res.users"].create([{"name": f"R{i}", "login": f"r{i}"} for i in range(2)])
        me = env.ref("base.user_admin")
        partner = _partner(env)
        activity = env["mail.activity"].create(
            {
                "partner_id": partner.id,
                "activity_type_id": env.ref("calendar.mail_activity_data_meeting").id,
                "summary": "Планёрка",
                "user_id": me.id,
                "user_ids": [(6, 0, users.ids)],
            }
        )
        assert sorted(activity.mapped("user_id.id")) == sorted([me.id, *users.ids])
        assert set(activity.mapped("res_id")) == {partner.id}
        assert all(not a.user_ids for a in activity)
        single = activity.filtered(lambda a: a.user_id == me)
        single.write({"user_ids": [(6, 0, [users[0].id])], "note": "Повестка"})
        copies = env["mail.activity"].search([("summary", "=", "Планёрка")])
        assert len(copies) == 4
        assert copies.filtered(lambda a: a.note == "Повестка").mapped("user_id") == me | users[0]


def test_a_call_that_already_happened_is_logged_done_with_its_result(calendar):
    with calendar.transaction() as env:
        partner = _partner(env)
        logged = env["mail.activity"].log_done(
            {
                "partner_id": partner.id,
                "activity_type_id": env.ref("calendar.mail_activity_data_call").id,
                "summary": "Входящий звонок",
            },
            "Клиент спросил о сроках поставки",
        )
        assert (logged.done, logged.state, logged.res_id) == (True, "done", partner.id)
        notes = [h["body"] for h in partner.message_history() if h["event"] == "note"]
        assert notes == ["Call «Входящий звонок»: Клиент спросил о сроках поставки"]
    with pytest.raises(ValidationError), calendar.transaction() as env:
        env["mail.activity"].log_done(
            {"activity_type_id": env.ref("calendar.mail_activity_data_call").id}, ""
        )
    env = calendar.env(su=True)
    assert env["mail.activity"].search_count([]) == 1


def test_shipped_activity_types_read_in_the_users_language(calendar):
    env = calendar.env(su=True).with_context(lang="ru")
    types = env["mail.activity.type"].search([])
    assert types.mapped("display_name") == ["Звонок", "Встреча", "Задача", "Письмо"]
