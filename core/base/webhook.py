"""Outgoing webhooks: ``ir.webhook`` subscriptions and the ``ir.webhook.delivery`` log.

An administrator subscribes a URL to the creation, change or deletion of records of one model.
The ``record_created`` / ``record_written`` / ``record_deleted`` hooks add one delivery row per
webhook per batch, with the JSON payload built right away (the values as they are in the
transaction, read by the superuser), and queue one ``webhook.deliver`` job each, sent after the
commit: a rolled-back change sends nothing. The job POSTs the payload, signed with the webhook's
secret (``X-Kontora-Signature: sha256=<HMAC-SHA256 of the body>``), holding no database lock
while it waits, and records the answer. A failed try is retried by the queue 1, 2, 4, 8...
minutes later until the webhook's ``max_attempts``; then the delivery is ``failed``. Delivery is
at least once: receivers should ignore a ``delivery_id`` they have already processed.

The hooks run on every change of every model, so they are cheap when there is nothing to do:
the active webhooks are read once per transaction (one query, kept in ``env.state``) and a
model without a webhook costs a dictionary look-up.

Lost jobs. The job queue is not the database: the delivery row commits with the change and
its job is queued just after, so a process that dies in between, or a queue file or Redis
that is lost, leaves the row ``pending`` with no job to send it. Every 5 minutes the
``webhook.requeue`` job (and ``kontora webhooks requeue``) queues a job again for each
pending delivery whose ``next_attempt`` (its creation time if it has none) is more than
``REQUEUE_GRACE`` (15 minutes) in the past. A delivery whose job merely waits in the queue,
or runs a slow request (at most 5 minutes), is due at ``next_attempt`` and is picked up well
within that time, so it is not doubled; should a backlog ever outlast the grace, the second
job finds the delivery sent (or locked by the first) and does nothing, or at worst makes its
tries come sooner. The rows are claimed by one conditional ``UPDATE ... RETURNING`` per
batch that moves their ``next_attempt`` to now, so two sweeps at once (two workers, a worker
and the command) queue each delivery once, and one whose new job is lost as well is found
again after the grace.

Pruning. Once a day the ``webhook.prune`` job (and ``kontora webhooks prune [--days N]``)
deletes ``sent`` and ``failed`` deliveries whose last change (``write_date``: sent, or given
up) is older than ``webhooks.keep_days`` days (30 by default; 0 keeps them forever), 1000 rows
per transaction. Pending deliveries are never deleted. It is maintenance: rows go with one
``DELETE`` per batch, not through ``unlink()``, so no ``record_deleted`` event is sent.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import http.client
import json
import logging
import secrets
import socket
import ssl
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from urllib.parse import unquote, urlsplit

from core.exceptions import KontoraError, ValidationError
from core.jobs.queue import Job, JobFailed, crontab
from core.orm import api, fields
from core.orm.models import Model
from core.orm.support import utcnow
from core.plugins import hookimpl

_logger = logging.getLogger(__name__)

EVENTS = (("created", "Created"), ("written", "Changed"), ("deleted", "Deleted"))
EVENT_FIELDS = MappingProxyType(
    {"created": "on_create", "written": "on_write", "deleted": "on_unlink"}
)
STATES = (("pending", "Pending"), ("sent", "Sent"), ("failed", "Failed"))
OWN_MODELS = frozenset({"ir.webhook", "ir.webhook.delivery"})
MAX_ATTEMPTS = 10  # the most a webhook may ask for: the 10th try comes ~8.5 hours after the 1st
MAX_TIMEOUT = 300  # seconds
RETRY_DELAY = 60  # seconds before the first retry; doubled after each further failure
ERROR_LENGTH = 1000  # last_error is cut to this many characters
RESPONSE_SNIPPET = 200  # characters of a refusing server's answer kept in last_error
USER_AGENT = "Kontora-Webhook/1"
REQUEUE_GRACE = datetime.timedelta(minutes=15)  # overdue by this much: its job was lost
REQUEUE_BATCH = 500  # deliveries claimed (and queued) per transaction by the sweep
PRUNE_BATCH = 1000  # deliveries deleted per transaction
KEEP_DAYS = 30  # webhooks.keep_days when the configuration does not say
MAX_KEEP_DAYS = 36500


def _new_secret():
    return secrets.token_hex(32)


class Webhook(Model):
    _name = "ir.webhook"
    _description = "Webhook"
    _order = "model, name"

    name = fields.Char("Name", required=True)
    model = fields.Char("Model", required=True, index=True, help="Technical name, e.g. res.partner")
    on_create = fields.Boolean("On creation", default=True)
    on_write = fields.Boolean("On change", default=True)
    on_unlink = fields.Boolean("On deletion", default=True)
    url = fields.Char("URL", required=True, help="http:// or https:// address that receives a POST")
    secret = fields.Char(
        "Secret",
        required=True,
        default=lambda _model: _new_secret(),
        groups="base.group_system",
        copy=False,
        help="Key of the HMAC-SHA256 signature sent in X-Kontora-Signature",
    )
    field_names = fields.Char(
        "Fields to send",
        help="Field names separated by commas; the payload then carries the records' values "
        "(not for deletions). Empty: only the ids.",
    )
    max_attempts = fields.Integer(
        "Attempts", default=5, help=f"Tries before a delivery is marked failed (1-{MAX_ATTEMPTS})"
    )
    timeout = fields.Integer("Timeout (s)", default=10, help="Seconds to wait for the answer")
    active = fields.Boolean("Active", default=True)
    delivery_ids = fields.One2many("ir.webhook.delivery", "webhook_id", "Deliveries")

    @api.constrains("model", "field_names")
    def _check_model(self):
        registry = self.env.registry
        for hook in self:
            cls = registry.models.get(hook.model)
            if cls is None or cls._abstract:
                raise ValidationError(f"Unknown model {hook.model!r}", "model")
            if hook.model in OWN_MODELS or not getattr(cls, "_system_full_access", True):
                raise ValidationError(f"Webhooks cannot watch {hook.model}", "model")
            for name in hook._field_list():
                field = cls._fields.get(name)
                if field is None:
                    raise ValidationError(f"{hook.model} has no field {name!r}", "field_names")
                if field.type == "binary":
                    raise ValidationError(
                        f"{hook.model}.{name} is a file; webhooks do not send files",
                        "field_names",
                    )

    @api.constrains("url")
    def _check_url(self):
        for hook in self:
            problem = _url_problem(hook.url or "")
            if problem:
                raise ValidationError(f"URL {hook.url!r}: {problem}", "url")

    @api.constrains("on_create", "on_write", "on_unlink", "max_attempts", "timeout")
    def _check_settings(self):
        for hook in self:
            if not (hook.on_create or hook.on_write or hook.on_unlink):
                raise ValidationError(
                    "Choose at least one event (creation, change, deletion)", "on_create"
                )
            if not 1 <= (hook.max_attempts or 0) <= MAX_ATTEMPTS:
                raise ValidationError(
                    f"Attempts must be between 1 and {MAX_ATTEMPTS}", "max_attempts"
                )
            if not 1 <= (hook.timeout or 0) <= MAX_TIMEOUT:
                raise ValidationError(
                    f"The timeout must be between 1 and {MAX_TIMEOUT} seconds", "timeout"
                )

    def _field_list(self) -> list[str]:
        return _split_names(self.field_names)

    def action_new_secret(self):
        """Replace the secret (the receiver must be given the new one)."""
        for hook in self:
            hook.write({"secret": _new_secret()})
        return True


class WebhookDelivery(Model):
    _name = "ir.webhook.delivery"
    _description = "Webhook delivery"
    _order = "id desc"
    _rec_name = "event"

    webhook_id = fields.Many2one(
        "ir.webhook", "Webhook", required=True, ondelete="cascade", index=True
    )
    event = fields.Selection(EVENTS, "Event", required=True)
    model = fields.Char("Model", required=True)
    record_ids = fields.Json("Record ids")
    payload = fields.Json("Payload", help="The body sent, without delivery_id")
    state = fields.Selection(STATES, "Status", default="pending", required=True, index=True)
    attempts = fields.Integer("Attempts", default=0)
    response_status = fields.Integer("Last HTTP status")
    last_error = fields.Text("Last error")
    next_attempt = fields.Datetime("Next attempt")
    sent_date = fields.Datetime("Sent on")

    def action_retry(self):
        """Send failed deliveries again, with their attempts counted afresh."""
        failed = self.filtered(lambda d: d.state == "failed")
        if failed:
            failed.write(
                {"state": "pending", "attempts": 0, "last_error": None, "next_attempt": utcnow()}
            )
        for delivery in failed:
            _enqueue(self.env, delivery.id)
        return True

    def _body(self) -> bytes:
        """The request body: the stored payload and this delivery's id, the same on every try."""
        self.ensure_one()
        data = {**(self.payload or {}), "delivery_id": self.id}
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()

    def _record_attempt(self, result: Attempt, max_attempts: int) -> str:
        """Count the try and store its outcome: "sent", "retry" or "failed"."""
        self.ensure_one()
        attempts = (self.attempts or 0) + 1
        vals = {"attempts": attempts, "response_status": result.status}
        if result.error is None:
            outcome = "sent"
            vals.update(state="sent", sent_date=utcnow(), last_error=None, next_attempt=None)
        elif attempts >= max_attempts:
            outcome = "failed"
            vals.update(state="failed", last_error=result.error[:ERROR_LENGTH], next_attempt=None)
        else:
            outcome = "retry"
            delay = RETRY_DELAY * 2 ** (attempts - 1)
            vals.update(
                last_error=result.error[:ERROR_LENGTH],
                next_attempt=utcnow() + datetime.timedelta(seconds=delay),
            )
        self.write(vals)
        if outcome != "sent":
            _logger.warning(
                "webhook delivery %s: attempt %d of %d failed: %s",
                self.id,
                attempts,
                max_attempts,
                result.error,
            )
        return outcome


MODELS = (Webhook, WebhookDelivery)


# -- the hooks: one delivery per webhook per batch ---------------------------------------------------


@hookimpl
def record_created(env, model, records):
    _on_event(env, model, "created", records.ids, records)


@hookimpl
def record_written(env, model, records, vals):
    _on_event(env, model, "written", records.ids, records, changed=sorted(vals))


@hookimpl
def record_deleted(env, model, ids):
    _on_event(env, model, "deleted", list(ids), None)


def _on_event(env, model, event, ids, records, changed=None):
    if model in OWN_MODELS:
        if model == "ir.webhook":
            env.state.webhooks = None  # read them again in this transaction
        return
    hooks = _active_webhooks(env).get(model)
    if not hooks or not ids:
        return
    hooks = [h for h in hooks if h[event]]
    if hooks:
        _queue_deliveries(env, model, event, ids, records, hooks, changed)


def _active_webhooks(env) -> dict:
    """``{model: [webhook, ...]}`` of the active webhooks, read once per transaction."""
    found = getattr(env.state, "webhooks", None)
    if found is not None:
        return found
    registry = env.registry
    table = registry.tables["ir.webhook"]
    found = {}
    if _tables_ready(registry):  # else base is not upgraded yet: no table, no webhooks
        query = table.select(
            table.id,
            table.model,
            table.on_create,
            table.on_write,
            table.on_unlink,
            table.field_names,
        ).where(table.active == True)  # noqa: E712
        for hook_id, model, on_create, on_write, on_unlink, names in query.tuples():
            found.setdefault(model, []).append(
                {
                    "id": hook_id,
                    "created": bool(on_create),
                    "written": bool(on_write),
                    "deleted": bool(on_unlink),
                    "fields": _split_names(names),
                }
            )
    state = env.state
    state.webhooks = found
    # Outside a managed transaction the environment outlives each operation's commit;
    # forget the webhooks then, so that the next operation reads current ones.
    env.on_commit(lambda: setattr(state, "webhooks", None))
    return found


def _tables_ready(registry) -> bool:
    """Whether the database has the ir_webhook table (one made before the webhooks existed
    gets it when base is upgraded; until then the hooks do nothing). Remembered on the
    registry once it has."""
    if not registry.__dict__.get("webhook_tables_ready"):
        registry.webhook_tables_ready = registry.tables["ir.webhook"].table_exists()
    return registry.webhook_tables_ready


def _queue_deliveries(env, model, event, ids, records, hooks, changed):
    now = utcnow()
    known = records._fields if records is not None else {}
    wanted = sorted({name for hook in hooks for name in hook["fields"] if name in known})
    rows = {}
    if wanted:  # one read for every webhook of this batch, by the superuser
        rows = {row["id"]: row for row in records.sudo().read(wanted)}
    vals_list = []
    for hook in hooks:
        payload = {
            "event": event,
            "model": model,
            "ids": list(ids),
            "timestamp": now.isoformat() + "Z",
        }
        if changed is not None:
            payload["fields"] = changed
        names = [name for name in hook["fields"] if name in known]
        if names:
            payload["records"] = [
                {"id": id_, **{name: _jsonable(rows[id_][name]) for name in names}}
                for id_ in ids
                if id_ in rows
            ]
        vals_list.append(
            {
                "webhook_id": hook["id"],
                "event": event,
                "model": model,
                "record_ids": list(ids),
                "payload": payload,
                "state": "pending",
                "next_attempt": now,
            }
        )
    deliveries = env["ir.webhook.delivery"].sudo().create(vals_list)
    for delivery_id in deliveries.ids:
        _enqueue(env, delivery_id)


def _enqueue(env, delivery_id):
    if env.db.in_transaction():
        env.enqueue("webhook.deliver", delivery_id=delivery_id)
    else:
        env.registry.jobs.enqueue("webhook.deliver", delivery_id=delivery_id)


def _jsonable(value):
    if isinstance(value, Decimal):
        return str(value)  # exact: money is not turned into a binary float
    if isinstance(value, datetime.datetime):
        return value.isoformat() + ("Z" if value.tzinfo is None else "")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def _split_names(text) -> list[str]:
    return [name.strip() for name in (text or "").split(",") if name.strip()]


# -- the job ---------------------------------------------------------------------------------------------


def deliver_job(env, delivery_id):
    """``webhook.deliver``: one delivery. Reads it in a short transaction, POSTs it outside
    any transaction, records the answer in a second one. A lock keeps two workers from
    sending one delivery at the same time."""
    registry = env.registry
    with registry.jobs.lock(f"ir.webhook.delivery:{delivery_id}", 2 * MAX_TIMEOUT + 60) as held:
        if not held:
            _logger.info("webhook delivery %s is being sent by another job; skipped", delivery_id)
            return "skipped"
        with registry.transaction() as tx:
            delivery = tx["ir.webhook.delivery"].sudo().browse(delivery_id).exists()
            if not delivery or delivery.state != "pending":
                return "skipped"
            hook = delivery.webhook_id.with_context(active_test=False)
            max_attempts = min(max(hook.max_attempts or 1, 1), MAX_ATTEMPTS)
            if not hook.active:
                delivery.write(
                    {
                        "state": "failed",
                        "last_error": "the webhook was deactivated",
                        "next_attempt": None,
                    }
                )
                return "failed"
            request = Request(
                url=hook.url,
                body=delivery._body(),
                event=delivery.event,
                delivery_id=delivery.id,
                secret=hook.secret or "",
                timeout=hook.timeout or 10,
            )
        result = post(request)
        with registry.transaction() as tx:
            delivery = tx["ir.webhook.delivery"].sudo().browse(delivery_id)
            outcome = delivery._record_attempt(result, max_attempts)
    if outcome == "retry":
        raise JobFailed(f"webhook delivery {delivery_id}: {result.error}")
    return outcome


# -- maintenance: lost jobs and the size of the log -------------------------------------------------


def requeue_lost(registry, grace=REQUEUE_GRACE, now=None, batch=REQUEUE_BATCH) -> int:
    """Queue a ``webhook.deliver`` job again for every pending delivery whose next attempt
    (or creation, if it has none) is more than ``grace`` in the past; return how many.

    Each batch is claimed in its own transaction by one conditional UPDATE that sets the
    rows' ``next_attempt`` to ``now``, and their jobs are queued once it commits: concurrent
    sweeps claim disjoint rows, and a delivery whose new job is lost as well is overdue again
    after ``grace``. A queue that cannot be reached raises (the claimed rows are found again
    by a later sweep) instead of being counted as done.
    """
    if not _tables_ready(registry):
        return 0
    now = now or utcnow()
    cutoff = now - grace
    total = 0
    while True:
        with registry.transaction(su=True) as env:
            ids = _claim_overdue(env, cutoff, now, batch)
        for delivery_id in ids:
            registry.jobs.enqueue("webhook.deliver", delivery_id=delivery_id)
        total += len(ids)
        if len(ids) < batch:
            break
    if total:
        _logger.warning(
            "re-queued %d webhook deliveries whose jobs were lost (overdue by more than %s)",
            total,
            grace,
        )
    return total


def _claim_overdue(env, cutoff, now, limit) -> list[int]:
    """Move the next attempt of up to ``limit`` overdue pending deliveries to ``now``; their
    ids. The conditions are repeated outside the sub-select: a row another sweep claimed
    meanwhile (PostgreSQL re-checks a row it waited for) no longer matches and is skipped."""
    table = env.registry.tables["ir.webhook.delivery"]
    overdue = (table.state == "pending") & (
        (table.next_attempt < cutoff)
        | (table.next_attempt.is_null() & (table.create_date < cutoff))
    )
    candidates = table.select(table.id).where(overdue).order_by(table.id).limit(limit)
    query = (
        table.update({table.next_attempt: now, table.write_date: utcnow(precise=True)})
        .where(table.id.in_(candidates) & overdue)
        .returning(table.id)
    )
    return sorted(row[0] for row in query.tuples().execute())


def keep_days(config) -> int:
    """``webhooks.keep_days`` of a configuration (0: keep the log forever)."""
    return KEEP_DAYS if config is None else int(config.get("webhooks.keep_days", KEEP_DAYS))


def prune_deliveries(registry, days=None, now=None, batch=PRUNE_BATCH) -> int:
    """Delete sent and failed deliveries last changed more than ``days`` days ago (default:
    ``webhooks.keep_days``; 0 deletes nothing), ``batch`` rows per transaction; return how
    many. Pending deliveries are never deleted."""
    if days is None:
        days = keep_days(getattr(registry, "config", None))
    if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= MAX_KEEP_DAYS:
        raise KontoraError(f"days to keep: expected a whole number from 0 to {MAX_KEEP_DAYS}")
    if days == 0 or not _tables_ready(registry):
        return 0
    cutoff = (now or utcnow()) - datetime.timedelta(days=days)
    table = registry.tables["ir.webhook.delivery"]
    old = table.state.in_(["sent", "failed"]) & (
        (table.write_date < cutoff) | (table.write_date.is_null() & (table.create_date < cutoff))
    )
    total = 0
    while True:
        with registry.transaction(su=True) as env:
            candidates = table.select(table.id).where(old).order_by(table.id).limit(batch)
            query = table.delete().where(table.id.in_(candidates) & old).returning(table.id)
            ids = [row[0] for row in query.tuples().execute()]
            _forget_references(env, ids)
        total += len(ids)
        if len(ids) < batch:
            break
    if total:
        _logger.info("pruned %d webhook deliveries older than %d days", total, days)
    return total


def _forget_references(env, ids):
    """What ``unlink()`` would delete with the rows: their external ids and attachments."""
    if not ids:
        return
    tables = env.registry.tables
    for name in ("ir.model.data", "ir.attachment"):
        other = tables[name]
        column = other.model if name == "ir.model.data" else other.res_model
        other.delete().where((column == "ir.webhook.delivery") & other.res_id.in_(ids)).execute()


def requeue_job(env):
    """``webhook.requeue``, every 5 minutes: see :func:`requeue_lost`."""
    return requeue_lost(env.registry)


def prune_job(env):
    """``webhook.prune``, daily at 03:10 UTC: see :func:`prune_deliveries`."""
    return prune_deliveries(env.registry)


JOBS = (
    Job(
        "webhook.deliver",
        deliver_job,
        retries=MAX_ATTEMPTS - 1,  # the job stops earlier when the webhook asks for fewer
        retry_delay=RETRY_DELAY,
        retry_backoff=2,
        transaction=False,
    ),
    # Both open their own short transactions (one per batch): SQLite's write lock is let go
    # between batches, and the queued jobs go out as each batch commits.
    Job("webhook.requeue", requeue_job, periodic=crontab(minute="*/5"), transaction=False),
    Job("webhook.prune", prune_job, periodic=crontab(minute="10", hour="3"), transaction=False),
)


# -- HTTP ------------------------------------------------------------------------------------------------


@dataclass
class Request:
    url: str
    body: bytes
    event: str
    delivery_id: int
    secret: str
    timeout: float


@dataclass
class Attempt:
    """The outcome of one POST: ``error`` is None when the receiver answered 2xx."""

    status: int | None = None
    error: str | None = None


def sign(secret: str, body: bytes) -> str:
    """The ``X-Kontora-Signature`` header value of a body."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def post(request: Request) -> Attempt:
    """POST one delivery; never raises for network or HTTP trouble. Redirects are not
    followed (a POST would lose its body): a 3xx answer is a failure like any non-2xx."""
    parts = urlsplit(request.url)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Kontora-Event": request.event,
        "X-Kontora-Delivery": str(request.delivery_id),
        "X-Kontora-Signature": sign(request.secret, request.body),
    }
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers["Authorization"] = "Basic " + base64.b64encode(credentials.encode()).decode()
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    where = parts.hostname + (f":{parts.port}" if parts.port else "")
    try:
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(
                parts.hostname,
                parts.port,
                timeout=request.timeout,
                context=ssl.create_default_context(),
            )
        else:
            connection = http.client.HTTPConnection(
                parts.hostname, parts.port, timeout=request.timeout
            )
        try:
            connection.request("POST", target, body=request.body, headers=headers)
            response = connection.getresponse()
            answer = response.read(64 * 1024)
        finally:
            connection.close()
    except Exception as exc:  # every failure is recorded on the delivery
        return Attempt(error=_describe(exc, where, request.timeout))
    if 200 <= response.status < 300:
        return Attempt(status=response.status)
    text = answer.decode("utf-8", "replace").strip()
    text = " ".join(text.split())[:RESPONSE_SNIPPET]
    error = f"{where} answered {response.status} {response.reason}".rstrip()
    return Attempt(status=response.status, error=f"{error}: {text}" if text else error)


def _describe(exc, where, timeout) -> str:
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return f"TLS with {where} failed: {exc}"
    if isinstance(exc, ConnectionRefusedError):
        return f"cannot connect to {where}: connection refused"
    if isinstance(exc, TimeoutError):
        return f"{where} did not answer within {timeout}s"
    if isinstance(exc, socket.gaierror):
        return f"cannot find the host of {where}: {exc.strerror or exc}"
    if isinstance(exc, http.client.HTTPException):
        return f"bad HTTP answer from {where}: {type(exc).__name__} {exc}".rstrip()
    if isinstance(exc, OSError):
        return f"cannot reach {where}: {exc.strerror or exc}"
    return f"sending to {where} failed: {type(exc).__name__}: {exc}"


def _url_problem(url: str) -> str | None:
    if not url.strip() or url != url.strip() or any(c.isspace() or ord(c) < 32 for c in url):
        return "no spaces or control characters allowed"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        return str(exc)
    if parts.scheme not in ("http", "https"):
        return "only http:// and https:// addresses are allowed"
    if not parts.hostname:
        return "no host name"
    if parts.fragment:
        return "no #fragment allowed"
    return None
