"""Outgoing webhooks against a real HTTP server on loopback, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from core.base.webhook import MAX_ATTEMPTS, sign
from core.exceptions import AccessError, ValidationError

SECRET = "s3cret-key"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Receiver:
    """An HTTP server in a thread: keeps every request, answers from ``answers`` first
    (status codes, one per request), then ``default``."""

    def __init__(self, port=None):
        self.requests = []
        self.answers = []
        self.default = 200
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.requests.append(
                        {
                            "path": self.path,
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                            "body": body,
                        }
                    )
                    status = receiver.answers.pop(0) if receiver.answers else receiver.default
                text = b"ok" if status < 300 else b"server trouble: try later"
                self.send_response(status)
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port or 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks/kontora?source=test"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def bodies(self):
        return [json.loads(r["body"]) for r in self.requests]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def registry(install):
    return install("fx_orm")


def add_webhook(registry, url, **vals):
    with registry.transaction() as env:
        hook = env["ir.webhook"].create(
            {"name": "Test", "model": "orm.partner", "url": url, "secret": SECRET, **vals}
        )
        return hook.id


def deliveries(registry, **domain):
    with registry.transaction(write=False) as env:
        found = env["ir.webhook.delivery"].search(
            [(k, "=", v) for k, v in domain.items()], order="id"
        )
        return found.read(
            [
                "webhook_id",
                "event",
                "model",
                "record_ids",
                "payload",
                "state",
                "attempts",
                "response_status",
                "last_error",
                "next_attempt",
                "sent_date",
            ]
        )


def jobs_queued(registry, monkeypatch):
    """Count ``webhook.deliver`` jobs queued from now on."""
    queued = []
    original = registry.jobs.enqueue

    def counting(name, /, **payload):
        if name == "webhook.deliver":
            queued.append(payload)
        return original(name, **payload)

    monkeypatch.setattr(registry.jobs, "enqueue", counting)
    return queued


# -- sending ---------------------------------------------------------------------------------------------


def test_create_write_delete_send_one_request_per_batch(registry, receiver):
    hook_id = add_webhook(registry, receiver.url)
    with registry.transaction() as env:
        partners = env["orm.partner"].create(
            [{"name": "Anna"}, {"name": "Boris"}, {"name": "Clara"}]
        )
        ids = partners.ids
        assert receiver.requests == []  # nothing goes before the commit
    assert len(receiver.requests) == 1
    with registry.transaction() as env:
        env["orm.partner"].browse(ids[:2]).write({"email": None, "name": "Same"})
    with registry.transaction() as env:
        env["orm.partner"].browse(ids[1:]).unlink()

    assert [r["headers"]["x-kontora-event"] for r in receiver.requests] == [
        "created",
        "written",
        "deleted",
    ]
    created, written, deleted = receiver.bodies
    assert (created["event"], created["model"], created["ids"]) == ("created", "orm.partner", ids)
    assert (written["event"], written["ids"], written["fields"]) == (
        "written",
        ids[:2],
        ["email", "name"],
    )
    assert (deleted["event"], deleted["ids"]) == ("deleted", ids[1:])
    assert "records" not in created  # no field list: ids only

    log = deliveries(registry)
    assert [(d["event"], d["state"], d["attempts"], d["response_status"]) for d in log] == [
        ("created", "sent", 1, 200),
        ("written", "sent", 1, 200),
        ("deleted", "sent", 1, 200),
    ]
    assert [d["webhook_id"][0] for d in log] == [hook_id] * 3
    assert [d["record_ids"] for d in log] == [ids, ids[:2], ids[1:]]
    for request, delivery in zip(receiver.requests, log, strict=True):
        assert request["path"] == "/hooks/kontora?source=test"
        assert request["headers"]["content-type"] == "application/json"
        assert request["headers"]["x-kontora-delivery"] == str(delivery["id"])
        body = json.loads(request["body"])
        assert body["delivery_id"] == delivery["id"]
        assert body == {**delivery["payload"], "delivery_id": delivery["id"]}
        stamp = datetime.datetime.fromisoformat(body["timestamp"].removesuffix("Z"))
        assert abs(stamp - datetime.datetime.now(datetime.UTC).replace(tzinfo=None)) < (
            datetime.timedelta(minutes=1)
        )
        assert delivery["sent_date"] is not None and delivery["next_attempt"] is None


def test_the_signature_verifies_with_the_secret(registry, receiver):
    add_webhook(registry, receiver.url)
    with registry.transaction() as env:
        env["orm.partner"].create({"name": "Signed"})
    (request,) = receiver.requests
    expected = hmac.new(SECRET.encode(), request["body"], hashlib.sha256).hexdigest()
    signature = request["headers"]["x-kontora-signature"]
    assert hmac.compare_digest(signature, "sha256=" + expected)
    assert sign(SECRET, request["body"]) == signature
    wrong = hmac.new(b"another secret", request["body"], hashlib.sha256).hexdigest()
    assert signature != "sha256=" + wrong


def test_selected_fields_are_sent_with_their_values(registry, receiver):
    add_webhook(registry, receiver.url, field_names="name, email, parent_id, tag_ids, active")
    with registry.transaction() as env:
        tag = env["orm.tag"].create({"name": "VIP"})
        company = env["orm.partner"].create({"name": "Acme"})
        person = env["orm.partner"].create(
            {
                "name": "Иван",
                "email": "ivan@example.com",
                "parent_id": company.id,
                "tag_ids": [(6, 0, [tag.id])],
            }
        )
        company_id, person_id, tag_id = company.id, person.id, tag.id
    with registry.transaction() as env:
        env["orm.partner"].browse(person_id).write({"email": "ivan@acme.example"})
    with registry.transaction() as env:
        env["orm.partner"].browse(person_id).unlink()
    first, second, changed, deleted = receiver.bodies
    assert first["records"] == [
        {
            "id": company_id,
            "name": "Acme",
            "email": None,
            "parent_id": None,
            "tag_ids": [],
            "active": True,
        }
    ]
    assert second["records"] == [
        {
            "id": person_id,
            "name": "Иван",
            "email": "ivan@example.com",
            "parent_id": [company_id, "Acme"],
            "tag_ids": [tag_id],
            "active": True,
        }
    ]
    assert changed["records"][0]["email"] == "ivan@acme.example"
    assert "records" not in deleted  # the records are gone
    assert "Иван".encode() in receiver.requests[1]["body"]  # UTF-8, not escaped


def test_money_and_dates_are_sent_exactly(registry, receiver):
    with registry.transaction() as env:
        partner_id = env["orm.partner"].create({"name": "Buyer"}).id
    add_webhook(
        registry,
        receiver.url,
        model="orm.order",
        on_write=False,
        on_unlink=False,
        field_names="amount_total,date_order,partner_id,state",
    )
    with registry.transaction() as env:
        order = env["orm.order"].create(
            {
                "name": "SO1",
                "partner_id": partner_id,
                "date_order": "2030-01-31",
                "line_ids": [(0, 0, {"product": "Pen", "quantity": 3, "price_unit": "0.10"})],
            }
        )
        order_id = order.id
    (body,) = receiver.bodies
    assert body["records"] == [
        {
            "id": order_id,
            "amount_total": "0.30",
            "date_order": "2030-01-31",
            "partner_id": [partner_id, "Buyer"],
            "state": "draft",
        }
    ]


# -- retries and failure ---------------------------------------------------------------------------------


def test_a_500_is_retried_until_the_receiver_takes_it(registry, receiver):
    receiver.answers = [500, 503]
    add_webhook(registry, receiver.url, max_attempts=5)
    with registry.transaction() as env:
        partner_id = env["orm.partner"].create({"name": "Retried"}).id
    # The immediate backend runs the retries at once; the same body goes every time.
    assert len(receiver.requests) == 3
    assert len({r["body"] for r in receiver.requests}) == 1
    assert len({r["headers"]["x-kontora-signature"] for r in receiver.requests}) == 1
    assert receiver.bodies[0]["ids"] == [partner_id]
    (delivery,) = deliveries(registry)
    assert (delivery["state"], delivery["attempts"], delivery["response_status"]) == (
        "sent",
        3,
        200,
    )
    assert delivery["last_error"] is None and delivery["sent_date"] is not None


def test_a_receiver_that_never_takes_it_ends_in_failed(registry, receiver):
    receiver.default = 500
    add_webhook(registry, receiver.url, max_attempts=3)
    with registry.transaction() as env:
        env["orm.partner"].create({"name": "Never"})
    assert len(receiver.requests) == 3
    (delivery,) = deliveries(registry)
    assert (delivery["state"], delivery["attempts"], delivery["response_status"]) == (
        "failed",
        3,
        500,
    )
    assert delivery["last_error"] == (
        f"127.0.0.1:{receiver.port} answered 500 Internal Server Error: server trouble: try later"
    )
    assert delivery["sent_date"] is None and delivery["next_attempt"] is None

    # An administrator sends it again once the receiver is fixed.
    receiver.default = 200
    with registry.transaction() as env:
        env["ir.webhook.delivery"].browse(delivery["id"]).action_retry()
    (delivery,) = deliveries(registry)
    assert (delivery["state"], delivery["attempts"]) == ("sent", 1)
    assert len(receiver.requests) == 4


def test_an_unreachable_receiver_is_recorded(registry):
    port = free_port()  # nothing listens there
    add_webhook(registry, f"http://127.0.0.1:{port}/x", max_attempts=2)
    with registry.transaction() as env:
        env["orm.partner"].create({"name": "Nobody home"})
    (delivery,) = deliveries(registry)
    assert (delivery["state"], delivery["attempts"], delivery["response_status"]) == (
        "failed",
        2,
        None,
    )
    assert delivery["last_error"] == f"cannot connect to 127.0.0.1:{port}: connection refused"


def test_a_retry_waits_in_the_sqlite_queue_with_backoff(make_config, receiver):
    from core.modules.manager import AddonManager

    manager = AddonManager(make_config(jobs__backend="sqlite"))
    try:
        registry = manager.install(["fx_orm"])
        receiver.answers = [502]
        add_webhook(registry, receiver.url, max_attempts=4)
        with registry.transaction() as env:
            env["orm.partner"].create({"name": "Queued"})
        huey = registry.jobs.huey
        assert receiver.requests == [] and huey.pending_count() == 1

        huey.execute(huey.dequeue())  # what a worker thread does
        (delivery,) = deliveries(registry)
        assert (delivery["state"], delivery["attempts"], delivery["response_status"]) == (
            "pending",
            1,
            502,
        )
        (retry,) = huey.scheduled()
        now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        assert (
            now + datetime.timedelta(seconds=50) < retry.eta <= now + datetime.timedelta(seconds=61)
        )
        assert abs(delivery["next_attempt"] - retry.eta) < datetime.timedelta(seconds=5)
        assert retry.retry_delay == 120  # the next one waits twice as long

        huey.execute(huey.read_schedule(retry.eta)[0], retry.eta)
        (delivery,) = deliveries(registry)
        assert (delivery["state"], delivery["attempts"]) == ("sent", 2)
        assert len(receiver.requests) == 2
        assert huey.scheduled_count() == 0
    finally:
        manager.db.close()


# -- when nothing is sent ----------------------------------------------------------------------------------


def test_no_webhook_means_no_delivery_and_no_job(registry, monkeypatch):
    queued = jobs_queued(registry, monkeypatch)
    with registry.transaction() as env:
        partner = env["orm.partner"].create({"name": "Quiet"})
        partner.write({"name": "Still quiet"})
        partner.unlink()
    assert queued == []
    assert deliveries(registry) == []


def test_webhooks_fire_only_for_their_model_and_events(registry, receiver, monkeypatch):
    other = Receiver()
    try:
        add_webhook(registry, receiver.url, on_create=False, on_unlink=False)  # partner writes
        add_webhook(registry, other.url, model="orm.tag", on_write=False)  # tag create/delete
        add_webhook(registry, receiver.url, name="Archived", active=False)
        queued = jobs_queued(registry, monkeypatch)
        with registry.transaction() as env:
            partner = env["orm.partner"].create({"name": "P"})
            tag = env["orm.tag"].create({"name": "T"})
            partner.write({"name": "P2"})
            tag.write({"name": "T2"})
            env["orm.order"].create({"partner_id": partner.id})
            partner_id, tag_id = partner.id, tag.id
        with registry.transaction() as env:
            env["orm.tag"].browse(tag_id).unlink()
        assert [(b["event"], b["model"], b["ids"]) for b in receiver.bodies] == [
            ("written", "orm.partner", [partner_id])
        ]
        assert [(b["event"], b["model"], b["ids"]) for b in other.bodies] == [
            ("created", "orm.tag", [tag_id]),
            ("deleted", "orm.tag", [tag_id]),
        ]
        assert len(queued) == 3
        assert len(deliveries(registry)) == 3
    finally:
        other.stop()


def test_a_rolled_back_transaction_sends_nothing(registry, receiver, monkeypatch):
    add_webhook(registry, receiver.url)
    queued = jobs_queued(registry, monkeypatch)
    with pytest.raises(RuntimeError), registry.transaction() as env:
        env["orm.partner"].create({"name": "Undone"})
        assert len(env["ir.webhook.delivery"].search([])) == 1
        raise RuntimeError("undo")
    assert receiver.requests == []
    assert queued == []
    assert deliveries(registry) == []


def test_a_rolled_back_savepoint_sends_nothing(registry, receiver):
    add_webhook(registry, receiver.url)
    with registry.transaction() as env:
        with pytest.raises(RuntimeError), env.atomic():
            env["orm.partner"].create({"name": "Undone"})
            raise RuntimeError("undo")
        kept = env["orm.partner"].create({"name": "Kept"}).id
    assert [b["ids"] for b in receiver.bodies] == [[kept]]
    assert [d["record_ids"] for d in deliveries(registry)] == [[kept]]


def test_a_webhook_made_in_the_transaction_applies_at_once(registry, receiver):
    with registry.transaction() as env:
        env["orm.partner"].create({"name": "Before"})  # reads the webhooks: none yet
        env["ir.webhook"].create(
            {"name": "New", "model": "orm.partner", "url": receiver.url, "secret": SECRET}
        )
        env["orm.partner"].create({"name": "After"})
    assert [b["event"] for b in receiver.bodies] == ["created"]


def test_changes_outside_a_managed_transaction(registry, receiver):
    env = registry.env()
    partner = env["orm.partner"].create({"name": "Shell"})  # its own transaction
    assert receiver.requests == []  # no webhook yet
    env["ir.webhook"].create(
        {"name": "Later", "model": "orm.partner", "url": receiver.url, "secret": SECRET}
    )
    partner.write({"name": "Shell 2"})
    assert [b["event"] for b in receiver.bodies] == ["written"]
    registry.db.close()


def test_a_deactivated_webhook_stops_pending_deliveries(make_config, receiver):
    from core.modules.manager import AddonManager

    manager = AddonManager(make_config(jobs__backend="sqlite"))
    try:
        registry = manager.install(["fx_orm"])
        hook_id = add_webhook(registry, receiver.url)
        with registry.transaction() as env:
            env["orm.partner"].create({"name": "Late"})
        with registry.transaction() as env:
            env["ir.webhook"].browse(hook_id).write({"active": False})
        huey = registry.jobs.huey
        huey.execute(huey.dequeue())
        (delivery,) = deliveries(registry)
        assert (delivery["state"], delivery["last_error"]) == (
            "failed",
            "the webhook was deactivated",
        )
        assert receiver.requests == []
    finally:
        manager.db.close()


# -- configuration and access --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vals", "message"),
    [
        ({"model": "orm.nothing"}, "Unknown model 'orm.nothing'"),
        ({"model": "ir.webhook.delivery"}, "Webhooks cannot watch ir.webhook.delivery"),
        ({"model": "res.users.credential"}, "Webhooks cannot watch res.users.credential"),
        ({"url": "ftp://example.com/x"}, "only http:// and https://"),
        ({"url": "javascript:alert(1)"}, "only http:// and https://"),
        ({"url": "http:///path"}, "no host name"),
        ({"url": "http://exa mple.com/"}, "no spaces"),
        ({"url": "http://example.com:99999/"}, "Port out of range"),
        ({"field_names": "name, nope"}, "orm.partner has no field 'nope'"),
        ({"on_create": False, "on_write": False, "on_unlink": False}, "at least one event"),
        ({"max_attempts": 0}, f"between 1 and {MAX_ATTEMPTS}"),
        ({"max_attempts": MAX_ATTEMPTS + 1}, f"between 1 and {MAX_ATTEMPTS}"),
        ({"timeout": 0}, "timeout must be between"),
    ],
)
def test_bad_configuration_is_refused(registry, vals, message):
    with pytest.raises(ValidationError, match=message), registry.transaction() as env:
        env["ir.webhook"].create(
            {"name": "Bad", "model": "orm.partner", "url": "https://example.com/h", **vals}
        )


def test_defaults_and_a_generated_secret(registry):
    with registry.transaction() as env:
        hook = env["ir.webhook"].create(
            {"name": "Defaults", "model": "orm.partner", "url": "https://example.com/h"}
        )
        assert (hook.on_create, hook.on_write, hook.on_unlink, hook.active) == (
            True,
            True,
            True,
            True,
        )
        assert (hook.max_attempts, hook.timeout) == (5, 10)
        assert len(hook.secret) == 64
        old = hook.secret
        hook.action_new_secret()
        assert hook.secret != old and len(hook.secret) == 64


def test_webhooks_are_for_administrators_only(registry):
    with registry.transaction() as env:
        admin = env.ref("base.user_admin")
        user = env["res.users"].create(
            {
                "name": "Clerk",
                "login": "clerk",
                "groups_id": [(6, 0, [env.ref("base.group_user").id])],
            }
        )
        admin_id, user_id = admin.id, user.id
    with registry.transaction(uid=admin_id) as env:
        hook = env["ir.webhook"].create(
            {"name": "Admin's", "model": "orm.partner", "url": "https://example.com/h"}
        )
        assert "secret" in hook.read()[0]
        assert "secret" in env["ir.webhook"].fields_get()
        hook_id = hook.id
    with registry.transaction(uid=user_id) as env:
        for model in ("ir.webhook", "ir.webhook.delivery"):
            with pytest.raises(AccessError):
                env[model].search([])
        with pytest.raises(AccessError):
            env["ir.webhook"].browse(hook_id).read(["secret"])
        with pytest.raises(AccessError):
            env["ir.webhook"].create(
                {"name": "Mine", "model": "orm.partner", "url": "https://example.com/h"}
            )
        assert "secret" not in env["ir.webhook"].fields_get()

    # Even where a group is let in to read webhooks, the secret stays with administrators.
    with registry.transaction() as env:
        env["ir.model.access"].create(
            {
                "name": "see webhooks",
                "model": "ir.webhook",
                "group_id": env.ref("base.group_user").id,
            }
        )
    with registry.transaction(uid=user_id) as env:
        hook = env["ir.webhook"].browse(hook_id)
        row = hook.read()[0]
        assert row["url"] == "https://example.com/h" and "secret" not in row
        with pytest.raises(AccessError, match=r"ir\.webhook\.secret"):
            hook.read(["secret"])


def test_changes_by_any_user_are_delivered(registry, receiver):
    add_webhook(registry, receiver.url)
    with registry.transaction() as env:
        user_id = env["res.users"].create({"name": "Clerk", "login": "clerk"}).id
        env["ir.model.access"].create(
            {
                "name": "partners for everyone",
                "model": "orm.partner",
                "perm_read": True,
                "perm_create": True,
            }
        )
    with registry.transaction(uid=user_id) as env:
        partner_id = env["orm.partner"].create({"name": "By the clerk"}).id
    assert [b["ids"] for b in receiver.bodies] == [[partner_id]]
    (delivery,) = deliveries(registry)
    assert delivery["state"] == "sent"


def test_the_webhooks_are_read_once_per_transaction(registry, caplog):
    """The hooks run on every change of every model: one query per transaction at most."""
    with caplog.at_level(logging.DEBUG, logger="peewee"), registry.transaction() as env:
        for number in range(5):
            partner = env["orm.partner"].create({"name": f"P{number}"})
            partner.write({"email": f"p{number}@example.com"})
            env["orm.tag"].create({"name": f"T{number}"}).unlink()
    reads = [r for r in caplog.records if 'FROM "ir_webhook"' in r.getMessage()]
    assert len(reads) == 1


def test_a_database_made_before_webhooks_keeps_working(registry):
    from core.modules.loading import load_registry

    registry.db.execute_sql("DROP TABLE ir_webhook_delivery")
    registry.db.execute_sql("DROP TABLE ir_webhook")
    fresh = load_registry(registry.config, registry.db)
    with fresh.transaction() as env:
        partner = env["orm.partner"].create({"name": "Old database"})
        partner.write({"name": "Still fine"})
        partner.unlink()
