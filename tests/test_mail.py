"""Outgoing mail against a real SMTP server (aiosmtpd on loopback) and a real job queue."""

from __future__ import annotations

import datetime
import shutil
import socket
import ssl
import subprocess
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from core.base.mail import MailSettings, html_to_text
from core.modules.manager import AddonManager


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    """An aiosmtpd handler keeping what it receives; it can be told to refuse."""

    def __init__(self):
        self.received = []
        self.data_answers = []  # answers given to the next DATA commands instead of accepting
        self.refuse = {}  # recipient -> answer to RCPT TO
        self.logins = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_answers:
            return self.data_answers.pop(0)
        self.received.append(envelope)
        return "250 Message accepted for delivery"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        self.logins.append((auth_data.login, auth_data.password))
        ok = (auth_data.login, auth_data.password) == (b"robot", b"s3cret")
        return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535

    @property
    def messages(self):
        return [message_from_bytes(e.content, policy=policy.default) for e in self.received]


class SmtpServers:
    def __init__(self):
        self.controllers = []

    def start(self, port=None, **options):
        inbox = Inbox()
        if options.pop("auth", False):
            options.update(authenticator=inbox.authenticate, auth_required=True)
            options.setdefault("auth_require_tls", False)
        controller = Controller(inbox, hostname="127.0.0.1", port=port or free_port(), **options)
        controller.start()
        self.controllers.append(controller)
        inbox.port = controller.port
        return inbox

    def stop(self):
        for controller in self.controllers:
            controller.stop()


@pytest.fixture
def smtp():
    servers = SmtpServers()
    yield servers
    servers.stop()


@pytest.fixture
def open_db(make_config):
    """``open_db(mail__smtp_port=...)``: a fresh database with base installed."""
    managers = []

    def factory(*addons, **overrides):
        manager = AddonManager(make_config(**overrides))
        managers.append(manager)
        return manager.install(list(addons))

    yield factory
    for manager in managers:
        if not manager.db.is_closed():
            manager.db.close()


def read_mail(registry, mail_id):
    with registry.transaction(write=False) as env:
        mail = env["mail.mail"].browse(mail_id)
        return {
            name: getattr(mail, name)
            for name in ("state", "attempts", "failure_reason", "sent_date", "message_id")
        }


def create_and_send(registry, **vals):
    with registry.transaction() as env:
        mail = env["mail.mail"].create({"email_to": "client@example.com", "subject": "Hi", **vals})
        mail.send()
        return mail.id


# -- delivery -----------------------------------------------------------------------------------------


def test_message_with_attachments_is_delivered(open_db, smtp):
    inbox = smtp.start()
    registry = open_db(mail__smtp_port=inbox.port, mail__default_from="CRM <crm@example.com>")
    text_file = "Line one\nСтрока два\n".encode()
    binary_file = bytes(range(256)) * 4
    with registry.transaction() as env:
        Attachment = env["ir.attachment"]
        report = Attachment.create(
            {"name": "report.txt", "mimetype": "text/plain", "datas": text_file}
        )
        blob = Attachment.create({"name": "data.bin", "datas": binary_file})
        mail = env["mail.mail"].create(
            {
                "email_to": "Иван Петров <ivan@example.com>, anna@example.com",
                "email_cc": "boss@example.com",
                "reply_to": "sales@example.com",
                "subject": "Счёт № 42 / Invoice 42",
                "body_html": "<p>Hello <b>Ivan</b>,</p><p>your invoice is attached.</p>",
                "attachment_ids": [(6, 0, [report.id, blob.id])],
                "res_model": "res.partner",
                "res_id": 7,
            }
        )
        mail_id = mail.id
        assert mail.email_from == "CRM <crm@example.com>"  # the configured default
        mail.send()
        assert inbox.received == []  # queued: nothing goes before the commit

    assert len(inbox.received) == 1
    envelope = inbox.received[0]
    assert envelope.mail_from == "crm@example.com"
    assert sorted(envelope.rcpt_tos) == ["anna@example.com", "boss@example.com", "ivan@example.com"]
    (message,) = inbox.messages
    assert message["Subject"] == "Счёт № 42 / Invoice 42"
    assert message["From"] == "CRM <crm@example.com>"
    assert message["To"].addresses[0].display_name == "Иван Петров"
    assert [a.addr_spec for a in message["To"].addresses] == [
        "ivan@example.com",
        "anna@example.com",
    ]
    assert message["Cc"] == "boss@example.com"
    assert message["Reply-To"] == "sales@example.com"
    assert message["Date"] is not None
    plain = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert plain == "Hello Ivan,\n\nyour invoice is attached.\n"
    assert "<b>Ivan</b>" in message.get_body(("html",)).get_content()
    attachments = {part.get_filename(): part for part in message.iter_attachments()}
    assert set(attachments) == {"report.txt", "data.bin"}
    assert attachments["report.txt"].get_content_type() == "text/plain"
    assert attachments["report.txt"].get_payload(decode=True) == text_file
    assert attachments["data.bin"].get_content_type() == "application/octet-stream"
    assert attachments["data.bin"].get_payload(decode=True) == binary_file

    state = read_mail(registry, mail_id)
    assert state["state"] == "sent"
    assert state["attempts"] == 1
    assert not state["failure_reason"]
    assert message["Message-ID"] == state["message_id"]
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    assert (
        now - datetime.timedelta(minutes=1)
        <= state["sent_date"]
        <= now + datetime.timedelta(seconds=1)
    )


def test_text_body_is_sent_as_is(open_db, smtp):
    inbox = smtp.start()
    registry = open_db(mail__smtp_port=inbox.port)
    create_and_send(registry, body_text="Plain only.\nSecond line.")
    (message,) = inbox.messages
    assert not message.is_multipart()
    assert message.get_content().replace("\r\n", "\n") == "Plain only.\nSecond line.\n"
    assert message["From"] == "kontora@localhost"


# -- failures -----------------------------------------------------------------------------------------


def test_server_down_counts_attempts_then_gives_up(open_db):
    port = free_port()  # nothing listens there
    registry = open_db(mail__smtp_port=port, mail__max_attempts=3)
    mail_id = create_and_send(registry)
    state = read_mail(registry, mail_id)
    assert state["state"] == "exception"
    assert state["attempts"] == 3
    assert state["failure_reason"] == (
        f"cannot connect to the SMTP server 127.0.0.1:{port}: connection refused"
    )
    assert state["sent_date"] is None


def test_temporary_refusal_is_retried(open_db, smtp):
    inbox = smtp.start()
    inbox.data_answers = ["451 4.3.0 Try again later", "421 4.7.0 Too busy"]
    registry = open_db(mail__smtp_port=inbox.port, mail__max_attempts=5)
    mail_id = create_and_send(registry)
    state = read_mail(registry, mail_id)
    assert (state["state"], state["attempts"]) == ("sent", 3)
    assert not state["failure_reason"]  # cleared once sent
    assert len(inbox.received) == 1


def test_permanent_refusal_is_not_retried(open_db, smtp):
    inbox = smtp.start()
    inbox.refuse["nobody@example.com"] = "550 5.1.1 No such user"
    registry = open_db(mail__smtp_port=inbox.port, mail__max_attempts=5)
    mail_id = create_and_send(registry, email_to="nobody@example.com")
    state = read_mail(registry, mail_id)
    assert (state["state"], state["attempts"]) == ("exception", 1)
    assert state["failure_reason"] == (
        "every recipient was refused: nobody@example.com (550 5.1.1 No such user)"
    )
    assert inbox.received == []


def test_partly_refused_recipients_are_noted(open_db, smtp):
    inbox = smtp.start()
    inbox.refuse["nobody@example.com"] = "550 5.1.1 No such user"
    registry = open_db(mail__smtp_port=inbox.port)
    mail_id = create_and_send(registry, email_to="nobody@example.com, anna@example.com")
    state = read_mail(registry, mail_id)
    assert state["state"] == "sent"
    assert "nobody@example.com (550" in state["failure_reason"]
    assert inbox.received[0].rcpt_tos == ["anna@example.com"]


@pytest.mark.parametrize(
    ("vals", "reason"),
    [
        ({"email_to": ""}, "the message has no recipient"),
        ({"email_to": "not an address"}, "To: not a list of e-mail addresses"),
        ({"subject": "Hi\nBcc: victim@example.com"}, "bad header"),
        ({"email_from": "nobody"}, "From: not an e-mail address"),
    ],
)
def test_a_message_that_cannot_be_built_fails_at_once(open_db, smtp, vals, reason):
    inbox = smtp.start()
    registry = open_db(mail__smtp_port=inbox.port)
    mail_id = create_and_send(registry, **vals)
    state = read_mail(registry, mail_id)
    assert (state["state"], state["attempts"]) == ("exception", 1)
    assert reason in state["failure_reason"]
    assert inbox.received == []


def test_a_retry_waits_in_the_sqlite_queue_until_the_server_is_back(open_db, smtp):
    port = free_port()
    registry = open_db(jobs__backend="sqlite", mail__smtp_port=port, mail__max_attempts=4)
    mail_id = create_and_send(registry)
    huey = registry.jobs.huey
    assert huey.pending_count() == 1

    huey.execute(huey.dequeue())  # what a worker thread does
    state = read_mail(registry, mail_id)
    assert (state["state"], state["attempts"]) == ("outgoing", 1)
    assert "connection refused" in state["failure_reason"]
    (retry,) = huey.scheduled()
    assert retry.retries == 2  # max_attempts=4: three retries, one used
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    assert now + datetime.timedelta(seconds=50) < retry.eta < now + datetime.timedelta(seconds=61)

    inbox = smtp.start(port=port)  # the server is back
    due = huey.read_schedule(retry.eta)
    assert len(due) == 1
    huey.execute(due[0], retry.eta)
    state = read_mail(registry, mail_id)
    assert (state["state"], state["attempts"]) == ("sent", 2)
    assert len(inbox.received) == 1
    assert huey.scheduled_count() == 0


def test_failed_message_can_be_sent_again_and_cancelled_one_is_not(open_db, smtp):
    port = free_port()
    registry = open_db(mail__smtp_port=port, mail__max_attempts=2)
    failed = create_and_send(registry)
    assert read_mail(registry, failed)["state"] == "exception"
    with registry.transaction() as env:
        cancelled = env["mail.mail"].create({"email_to": "x@example.com"})
        cancelled.cancel()
        cancelled = cancelled.id

    inbox = smtp.start(port=port)
    with registry.transaction() as env:
        env["mail.mail"].browse([failed, cancelled]).send()
    assert read_mail(registry, failed)["state"] == "sent"
    assert read_mail(registry, failed)["attempts"] == 1  # counted afresh
    assert read_mail(registry, cancelled)["state"] == "cancel"
    assert len(inbox.received) == 1
    registry.jobs.enqueue("mail.send", mail_id=failed)  # a stray duplicate job: nothing happens
    assert len(inbox.received) == 1


def test_send_outside_a_transaction_queues_at_once(open_db, smtp):
    inbox = smtp.start()
    registry = open_db(mail__smtp_port=inbox.port)
    env = registry.env()
    mail = env["mail.mail"].create({"email_to": "x@example.com", "subject": "direct"})
    mail.send()
    assert [m["Subject"] for m in inbox.messages] == ["direct"]


# -- login and TLS ----------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_login_and_send_now(open_db, smtp):
    inbox = smtp.start(auth=True)
    registry = open_db(
        mail__smtp_port=inbox.port, mail__smtp_user="robot", mail__smtp_password="s3cret"
    )
    with registry.transaction() as env:
        mail = env["mail.mail"].create({"email_to": "x@example.com", "subject": "now"})
        assert mail.send_now() is True
        assert (mail.state, mail.attempts) == ("sent", 1)
    assert inbox.logins == [(b"robot", b"s3cret")]
    assert [m["Subject"] for m in inbox.messages] == ["now"]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_wrong_password_is_reported(open_db, smtp):
    inbox = smtp.start(auth=True)
    registry = open_db(
        mail__smtp_port=inbox.port,
        mail__smtp_user="robot",
        mail__smtp_password="wrong",
        mail__max_attempts=2,
    )
    mail_id = create_and_send(registry)
    state = read_mail(registry, mail_id)
    assert (state["state"], state["attempts"]) == ("exception", 2)
    assert state["failure_reason"].startswith(
        f"the SMTP server 127.0.0.1:{inbox.port} refused the login of 'robot': 535"
    )
    assert inbox.received == []


@pytest.fixture
def certificate(tmp_path, monkeypatch):
    """A self-signed certificate for 127.0.0.1 that the client is made to trust."""
    openssl = shutil.which("openssl")
    if not openssl:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def test_starttls(open_db, smtp, certificate):
    inbox = smtp.start(tls_context=certificate, require_starttls=True)
    registry = open_db(mail__smtp_port=inbox.port, mail__smtp_security="starttls")
    mail_id = create_and_send(registry, subject="over starttls")
    assert read_mail(registry, mail_id)["state"] == "sent"
    assert [m["Subject"] for m in inbox.messages] == ["over starttls"]


def test_starttls_required_by_the_server_but_not_configured(open_db, smtp, certificate):
    inbox = smtp.start(tls_context=certificate, require_starttls=True)
    registry = open_db(mail__smtp_port=inbox.port, mail__max_attempts=1)
    mail_id = create_and_send(registry)
    state = read_mail(registry, mail_id)
    assert state["state"] == "exception"
    assert f"the SMTP server 127.0.0.1:{inbox.port} " in state["failure_reason"]
    assert "530" in state["failure_reason"]


def test_implicit_tls(open_db, smtp, certificate):
    inbox = smtp.start(ssl_context=certificate)
    registry = open_db(mail__smtp_port=inbox.port, mail__smtp_security="ssl")
    mail_id = create_and_send(registry, subject="over ssl")
    assert read_mail(registry, mail_id)["state"] == "sent"
    assert [m["Subject"] for m in inbox.messages] == ["over ssl"]


def test_untrusted_certificate_is_reported(open_db, smtp, certificate, monkeypatch):
    inbox = smtp.start(ssl_context=certificate)
    monkeypatch.delenv("SSL_CERT_FILE")
    registry = open_db(mail__smtp_port=inbox.port, mail__smtp_security="ssl", mail__max_attempts=1)
    mail_id = create_and_send(registry)
    state = read_mail(registry, mail_id)
    assert state["state"] == "exception"
    assert state["failure_reason"].startswith(f"TLS with the SMTP server 127.0.0.1:{inbox.port}")
    assert "CERTIFICATE_VERIFY_FAILED" in state["failure_reason"]


# -- pieces -------------------------------------------------------------------------------------------


def test_html_to_text():
    html = (
        "<html><head><title>T</title><style>p {color: red}</style></head><body>"
        "<h1>Offer</h1><p>Dear   <b>client</b>,<br>prices&nbsp;are &lt;low&gt; &amp; fair.</p>"
        "<ul><li>one</li><li>two, see <a href='https://example.com/x'>here</a></li></ul>"
        "<div>Bye</div></body></html>"
    )
    assert html_to_text(html) == (
        "Offer\n\nDear client,\nprices are <low> & fair.\n\n"
        "- one\n- two, see here <https://example.com/x>\n\nBye\n"
    )
    assert html_to_text("") == ""


def test_settings_come_from_the_configuration(open_db):
    registry = open_db(mail__smtp_host="mail.example.com", mail__smtp_port=2525)
    settings = MailSettings.from_config(registry.config)
    assert settings.server == "mail.example.com:2525"
    assert settings.max_attempts == 5
    with registry.transaction() as env:
        mail = env["mail.mail"].create({"email_to": "x@example.com"})
        assert mail.state == "outgoing" and mail.attempts == 0
        assert mail.message_id.startswith("<") and mail.message_id.endswith("@localhost>")


def test_a_message_being_sent_is_not_sent_twice(open_db, smtp):
    inbox = smtp.start()
    registry = open_db(jobs__backend="sqlite", mail__smtp_port=inbox.port)
    mail_id = create_and_send(registry)
    huey = registry.jobs.huey
    task = huey.dequeue()
    # Another worker holds the message (it is talking to the SMTP server right now).
    with registry.jobs.lock(f"mail.mail:{mail_id}") as held:
        assert held
        with registry.jobs.lock(f"mail.mail:{mail_id}") as again:
            assert not again
        huey.execute(task)
        state = read_mail(registry, mail_id)
        assert (state["state"], state["attempts"]) == ("outgoing", 0)
    assert inbox.received == []

    # A lock left by a killed worker is broken once it is old enough.
    huey.put(f"kontora:lock:mail.mail:{mail_id}", 0.0)
    with registry.transaction() as env:
        env["mail.mail"].browse(mail_id).send()
    huey.execute(huey.dequeue())
    assert read_mail(registry, mail_id)["state"] == "sent"
    assert len(inbox.received) == 1
