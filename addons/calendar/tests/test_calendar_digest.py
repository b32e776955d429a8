"""The daily digest, end to end: the periodic job, mail.mail, the job queue and a real SMTP
server (aiosmtpd) on loopback."""

import datetime
import socket
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller

from core.modules.manager import AddonManager


class Inbox:
    def __init__(self):
        self.received = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append(envelope)
        return "250 Message accepted for delivery"

    def by_recipient(self):
        result = {}
        for envelope in self.received:
            message = message_from_bytes(envelope.content, policy=policy.default)
            for rcpt in envelope.rcpt_tos:
                result.setdefault(rcpt, []).append(message)
        return result


@pytest.fixture
def inbox():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    handler.port = port
    yield handler
    controller.stop()


@pytest.fixture
def mailing(make_config, inbox):
    manager = AddonManager(
        make_config(
            paths=[SHIPPED],
            mail__smtp_host="127.0.0.1",
            mail__smtp_port=inbox.port,
            mail__default_from="CRM <crm@example.com>",
        )
    )
    yield manager.install(["calendar"])
    manager.db.close()


from tests.conftest import SHIPPED_ADDONS as SHIPPED  # noqa: E402

TODAY = datetime.date(2026, 3, 2)
# 05:10 UTC is 08:10 in Moscow: past the default 08:00; 04:55 UTC is 07:55, too early.
MORNING = "2026-03-02T05:10:00"
EARLY = "2026-03-02T04:55:00"


def _setup(registry):
    day = datetime.timedelta(days=1)
    with registry.transaction() as env:
        staff = {"groups_id": [(6, 0, [env.ref("base.group_user").id])]}
        Users = env["res.users"]
        anna = Users.create(
            {"name": "Анна", "login": "anna", "email": "anna@example.com", "lang": "ru", **staff}
        )
        boris = Users.create(
            {"name": "Boris", "login": "boris", "email": "boris@example.com", **staff}
        )
        idle = Users.create({"name": "Idle", "login": "idle", "email": "idle@example.com", **staff})
        partner = env["res.partner"].create(
            {
                "name": "ООО «Ромашка»",
                "is_company": True,
                "user_id": anna.id,
                "child_ids": [
                    {"name": "Ольга", "birthday": datetime.date(1970, 3, 2)},
                    {"name": "Пётр", "birthday": datetime.date(1980, 3, 3)},
                ],
            }
        )
        call = env.ref("calendar.mail_activity_data_call").id
        task = env.ref("calendar.mail_activity_data_todo").id

        def plan(user, summary, deadline, **extra):
            vals = {
                "user_id": user.id,
                "summary": summary,
                "date_deadline": deadline,
                "activity_type_id": call,
                "res_model": "res.partner",
                "res_id": partner.id,
            }
            return (
                env["mail.activity"]
                .with_context(mail_activity_quiet=True)
                .create({**vals, **extra})
            )

        plan(anna, "Перезвонить по счёту", TODAY - day)
        plan(anna, "Согласовать договор", TODAY)
        plan(anna, "Отправить КП", TODAY + day)  # not yet
        plan(anna, "Старый звонок", TODAY - day).action_done("Готово")  # done: not listed
        plan(boris, "Call about the delivery", TODAY)
        # Meetings on Anna's Moscow day (02.03 00:00-24:00 is 01.03 21:00 - 02.03 21:00 UTC).
        Event = env["calendar.event"]
        at = datetime.datetime(2026, 3, 2, 7, 0)  # 10:00 in Moscow
        Event.create(
            {
                "name": "Переговоры",
                "start": at,
                "stop": at + datetime.timedelta(hours=1),
                "location": "Офис клиента",
                "user_id": boris.id,
                "attendee_user_ids": [(6, 0, [anna.id])],
            }
        )
        Event.create(
            {
                "name": "Завтрашняя встреча",
                "user_id": anna.id,
                "start": datetime.datetime(2026, 3, 2, 21, 30),
                "stop": datetime.datetime(2026, 3, 2, 22, 0),
            }
        )
    # Boris sets Anna a task: a reminder set for a colleague.
    with registry.transaction(boris.id) as env:
        env["mail.activity"].with_context(mail_activity_quiet=True).create(
            {
                "user_id": anna.id,
                "summary": "Проверить оплату",
                "date_deadline": TODAY,
                "activity_type_id": task,
            }
        )
    return anna, boris, idle


def test_digest_reaches_each_user_with_todays_and_overdue_activities(mailing, inbox):
    anna, boris, idle = _setup(mailing)
    assert mailing.jobs.run_now("calendar.activity_digest", now=EARLY) == 0
    assert inbox.received == []

    assert mailing.jobs.run_now("calendar.activity_digest", now=MORNING) == 2

    got = inbox.by_recipient()
    assert sorted(got) == ["anna@example.com", "boris@example.com"]  # idle has nothing to do
    [to_anna] = got["anna@example.com"]
    assert to_anna["Subject"] == "Дела на 02.03.2026: сегодня 2, просрочено 1"
    body = to_anna.get_body(preferencelist=("plain",)).get_content()
    assert "Просрочено:\n- 01.03.2026 Звонок Перезвонить по счёту (ООО «Ромашка»)" in body
    assert "Сегодня:\n" in body
    assert "02.03.2026 Задача Проверить оплату [поставил(а) Boris]" in body
    assert "Отправить КП" not in body and "Старый звонок" not in body
    assert "Дни рождения сегодня:\n- ООО «Ромашка», Ольга: исполняется 56" in body
    assert "Пётр" not in body
    assert "Встречи сегодня:\n- 10:00–11:00 Переговоры (Офис клиента)" in body
    assert "Завтрашняя встреча" not in body
    [to_boris] = got["boris@example.com"]
    assert to_boris["Subject"] == "Activities for 02.03.2026: 1 today, 0 overdue"
    assert "Call about the delivery" in to_boris.get_body(preferencelist=("plain",)).get_content()

    # Once a day: the next run that morning sends nothing more.
    assert mailing.jobs.run_now("calendar.activity_digest", now="2026-03-02T09:00:00") == 0
    assert len(inbox.received) == 2
    with mailing.transaction(write=False) as env:
        sent = env["mail.mail"].search([("res_model", "=", "res.users")])
        assert set(sent.mapped("state")) == {"sent"}


def test_digest_time_is_set_per_company(mailing, inbox):
    anna, _boris, _idle = _setup(mailing)
    with mailing.transaction() as env:
        env.ref("base.main_company").activity_digest_time = 9.5
        env["res.users"].browse([anna.id]).write({"company_id": env.ref("base.main_company").id})
    assert mailing.jobs.run_now("calendar.activity_digest", now="2026-03-02T06:20:00") == 1  # 09:20
    assert list(inbox.by_recipient()) == ["boris@example.com"]
    assert mailing.jobs.run_now("calendar.activity_digest", now="2026-03-02T06:31:00") == 1  # 09:31
    assert sorted(inbox.by_recipient()) == ["anna@example.com", "boris@example.com"]


def test_the_worker_schedule_runs_the_digest(mailing, inbox):
    with mailing.transaction() as env:
        env.ref("base.main_company").activity_digest_time = 0.0
        user = env["res.users"].create(
            {
                "name": "Vera",
                "login": "vera",
                "email": "vera@example.com",
                "tz": "UTC",
                "company_id": env.ref("base.main_company").id,
            }
        )
        env["mail.activity"].create(
            {
                "user_id": user.id,
                "summary": "Today's call",
                "activity_type_id": env.ref("calendar.mail_activity_data_call").id,
            }
        )
    queued = mailing.jobs.enqueue_due(now=datetime.datetime(2026, 3, 2, 7, 5))
    assert "calendar.activity_digest" in queued
    assert list(inbox.by_recipient()) == ["vera@example.com"]


def test_a_reminder_set_for_a_colleague_is_mailed_to_the_colleague(mailing, inbox):
    with mailing.transaction() as env:
        staff = {"groups_id": [(6, 0, [env.ref("base.group_user").id])]}
        anna = env["res.users"].create(
            {"name": "Анна", "login": "anna", "email": "anna@example.com", "lang": "ru", **staff}
        )
        boris = env["res.users"].create({"name": "Борис", "login": "boris", **staff})
    with mailing.transaction(boris.id) as env:
        env["mail.activity"].create(
            {
                "user_id": anna.id,
                "summary": "Подготовить договор",
                "date_deadline": TODAY,
                "activity_type_id": env.ref("calendar.mail_activity_data_todo").id,
            }
        )
        own = env["mail.activity"].create(  # his own: no e-mail
            {
                "summary": "Свой звонок",
                "activity_type_id": env.ref("calendar.mail_activity_data_call").id,
            }
        )
    [message] = inbox.by_recipient()["anna@example.com"]
    assert message["Subject"] == "Борис поставил(а) вам дело: Подготовить договор"
    assert "Срок: 02.03.2026" in message.get_body(preferencelist=("plain",)).get_content()
    assert len(inbox.received) == 1
    with mailing.transaction(boris.id) as env:  # handed over: Anna is told
        env["mail.activity"].browse(own.id).write({"user_id": anna.id})
    subjects = [m["Subject"] for m in inbox.by_recipient()["anna@example.com"]]
    assert subjects[-1] == "Борис поставил(а) вам дело: Свой звонок"
