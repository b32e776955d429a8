"""Webhook maintenance on SQLite and PostgreSQL: deliveries whose job was lost are queued again
(through a real SQLite queue file and a real HTTP receiver on loopback), and the delivery log is
pruned; the ``kontora webhooks`` commands."""

from __future__ import annotations

import datetime
import threading
import time

import pytest
from test_cli import one_error_line, write_config
from test_webhooks import Receiver, add_webhook, deliveries, free_port

import cli
from core.base.webhook import REQUEUE_GRACE, _claim_overdue, prune_deliveries, requeue_lost
from core.config import load_config
from core.exceptions import ConfigError, KontoraError
from core.modules.loading import load_registry
from core.modules.manager import AddonManager, open_registry
from core.orm.support import utcnow


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def registry(install):
    """Jobs run at once (the immediate backend)."""
    return install("fx_orm")


@pytest.fixture
def queued(make_config):
    """A registry whose jobs go to a real SQLite queue file and wait there until the test
    does what a worker does (``run_queue``)."""
    manager = AddonManager(make_config(jobs__backend="sqlite"))
    try:
        yield manager.install(["fx_orm"])
    finally:
        manager.db.close()


def ago(**delta):
    return utcnow() - datetime.timedelta(**delta)


def add_deliveries(registry, hook_id, count, **vals):
    """Delivery rows made directly (no job is queued for them), as a lost job leaves them."""
    with registry.transaction() as env:
        created = env["ir.webhook.delivery"].create(
            [
                {
                    "webhook_id": hook_id,
                    "event": "created",
                    "model": "orm.partner",
                    "record_ids": [number],
                    "payload": {"event": "created", "model": "orm.partner", "ids": [number]},
                    "state": "pending",
                    "next_attempt": utcnow(),
                    **vals,
                }
                for number in range(1, count + 1)
            ]
        )
        return created.ids


def set_columns(registry, ids, **values):
    """Change columns behind the ORM's back: ages the test cannot wait for."""
    table = registry.tables["ir.webhook.delivery"]
    with registry.transaction():
        table.update({getattr(table, k): v for k, v in values.items()}).where(
            table.id.in_(ids)
        ).execute()


def run_queue(registry) -> int:
    """What a worker does: run every message waiting in the queue (and those they queue)."""
    huey = registry.jobs.huey
    count = 0
    while (task := huey.dequeue()) is not None:
        huey.execute(task)
        count += 1
    return count


def queued_deliveries(registry) -> list[int]:
    """Delivery ids of the ``webhook.deliver`` messages waiting in the queue."""
    return sorted(
        task.args[1]["delivery_id"]
        for task in registry.jobs.huey.pending()
        if task.args and task.args[0] == "webhook.deliver"
    )


def existing_ids(registry) -> list[int]:
    return [d["id"] for d in deliveries(registry)]


# -- lost jobs -------------------------------------------------------------------------------------------


def test_a_lost_job_is_queued_again_by_the_periodic_sweep_and_sent_once(queued, receiver):
    registry = queued
    add_webhook(registry, receiver.url)
    with registry.transaction() as env:
        partner_id = env["orm.partner"].create({"name": "Lost"}).id
    huey = registry.jobs.huey
    assert huey.pending_count() == 1
    huey.flush()  # the queue is lost: a deleted queue file, a Redis that restarted empty
    (delivery,) = deliveries(registry)
    assert delivery["state"] == "pending"

    assert requeue_lost(registry) == 0  # not overdue yet: its job may just be waiting
    set_columns(registry, [delivery["id"]], next_attempt=ago(minutes=16))

    # The worker's scheduler, at a minute the 5-minute sweep is due.
    assert "webhook.requeue" in registry.jobs.enqueue_due(datetime.datetime(2030, 1, 1, 12, 5))
    assert run_queue(registry) == 2  # the sweep, then the delivery it queued again
    assert [b["ids"] for b in receiver.bodies] == [[partner_id]]
    assert receiver.bodies[0]["delivery_id"] == delivery["id"]
    (delivery,) = deliveries(registry)
    assert (delivery["state"], delivery["attempts"], delivery["response_status"]) == (
        "sent",
        1,
        200,
    )

    # Nothing is left to find: further sweeps queue nothing and send nothing.
    assert requeue_lost(registry) == 0
    assert requeue_lost(registry, now=utcnow() + datetime.timedelta(days=1)) == 0
    assert run_queue(registry) == 0
    assert len(receiver.requests) == 1


def test_a_delivery_whose_job_is_waiting_is_not_doubled(queued, receiver):
    registry = queued
    add_webhook(registry, receiver.url, max_attempts=3)
    receiver.answers = [502]
    with registry.transaction() as env:
        env["orm.partner"].create({"name": "Waiting"})
    (delivery,) = deliveries(registry)
    assert queued_deliveries(registry) == [delivery["id"]]

    # Its job waits in the queue (a busy worker, no worker yet): a sweep leaves it alone, even
    # when the wait has lasted a while, as long as it is within the grace period.
    assert requeue_lost(registry) == 0
    set_columns(registry, [delivery["id"]], next_attempt=ago(minutes=10))
    assert requeue_lost(registry) == 0
    assert queued_deliveries(registry) == [delivery["id"]]

    # The first try fails; the retry waits in the queue's schedule for a minute.
    assert run_queue(registry) == 1
    (delivery,) = deliveries(registry)
    assert (delivery["state"], delivery["attempts"]) == ("pending", 1)
    (retry,) = registry.jobs.huey.scheduled()
    # Ten minutes later the retry may still be held back by a backlog: not doubled either.
    assert requeue_lost(registry, now=utcnow() + datetime.timedelta(minutes=10)) == 0
    assert registry.jobs.huey.pending_count() == 0

    registry.jobs.huey.execute(registry.jobs.huey.read_schedule(retry.eta)[0], retry.eta)
    (delivery,) = deliveries(registry)
    assert (delivery["state"], delivery["attempts"]) == ("sent", 2)
    assert [r["headers"]["x-kontora-delivery"] for r in receiver.requests] == [
        str(delivery["id"])
    ] * 2
    assert requeue_lost(registry, now=utcnow() + datetime.timedelta(days=1)) == 0


def test_which_pending_deliveries_count_as_lost(queued):
    registry = queued
    hook_id = add_webhook(registry, "https://example.com/hook")
    lost = add_deliveries(registry, hook_id, 2, next_attempt=ago(minutes=20))
    no_date = add_deliveries(registry, hook_id, 1, next_attempt=None)
    set_columns(registry, no_date, create_date=ago(hours=2))  # then its creation counts
    recent = add_deliveries(registry, hook_id, 1, next_attempt=ago(minutes=14))
    later = add_deliveries(
        registry, hook_id, 1, next_attempt=utcnow() + datetime.timedelta(hours=2)
    )
    done = add_deliveries(registry, hook_id, 1, state="sent", next_attempt=ago(days=3))
    failed = add_deliveries(registry, hook_id, 1, state="failed", next_attempt=ago(days=3))

    assert requeue_lost(registry) == 3
    assert queued_deliveries(registry) == sorted(lost + no_date)
    claimed = {d["id"]: d["next_attempt"] for d in deliveries(registry)}
    for delivery_id in lost + no_date:  # claimed: due again only if this new job is lost too
        assert claimed[delivery_id] >= ago(minutes=1)
    assert requeue_lost(registry) == 0
    # A new job that is lost as well is found again once the grace period has passed.
    soon_after = utcnow() + REQUEUE_GRACE + datetime.timedelta(minutes=1)
    assert requeue_lost(registry, now=soon_after) == 4  # and the one 14 minutes late, now late
    assert queued_deliveries(registry) == sorted(lost + no_date + lost + no_date + recent)
    assert not set(queued_deliveries(registry)) & set(later + done + failed)


def test_two_sweeps_at_once_queue_each_delivery_once(queued):
    registry = queued
    hook_id = add_webhook(registry, "https://example.com/hook")
    lost = add_deliveries(registry, hook_id, 25, next_attempt=ago(hours=1))
    add_deliveries(registry, hook_id, 3)  # just made: their jobs wait
    sweepers = [load_registry(registry.config) for _ in range(2)]  # two worker processes
    start = threading.Barrier(len(sweepers))
    counts, errors = [], []

    def sweep(other):
        try:
            start.wait(10)
            counts.append(requeue_lost(other, batch=4))
        except Exception as exc:  # reported below, not lost in the thread
            errors.append(exc)
        finally:
            other.db.close()

    threads = [threading.Thread(target=sweep, args=(other,)) for other in sweepers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sum(counts) == 25 and len(counts) == 2
    assert queued_deliveries(registry) == lost  # each once


def test_a_sweep_skips_rows_another_sweep_claimed_while_it_waited(queued):
    """The claim is a conditional UPDATE: a sweep that has to wait for another one's
    transaction (PostgreSQL's row locks, SQLite's write lock) re-checks the rows after it
    and finds them no longer overdue."""
    registry = queued
    hook_id = add_webhook(registry, "https://example.com/hook")
    lost = add_deliveries(registry, hook_id, 5, next_attempt=ago(hours=1))
    other = load_registry(registry.config)
    result, errors = [], []

    def sweep():
        try:
            result.append(requeue_lost(other))
        except Exception as exc:
            errors.append(exc)
        finally:
            other.db.close()

    thread = threading.Thread(target=sweep)
    with registry.transaction(su=True) as env:
        now = utcnow()
        assert _claim_overdue(env, now - REQUEUE_GRACE, now, 100) == lost
        thread.start()
        time.sleep(1.0)
        assert thread.is_alive()  # waiting for this transaction
    thread.join(30)
    assert errors == [] and result == [0]
    assert queued_deliveries(registry) == []  # the first claim queued nothing in this test


def test_a_delivery_of_a_deactivated_webhook_ends_failed_when_requeued(registry, receiver):
    hook_id = add_webhook(registry, receiver.url)
    (delivery_id,) = add_deliveries(registry, hook_id, 1, next_attempt=ago(hours=1))
    with registry.transaction() as env:
        env["ir.webhook"].browse(hook_id).write({"active": False})
    assert requeue_lost(registry) == 1  # the immediate backend runs the job at once
    (delivery,) = deliveries(registry)
    assert (delivery["id"], delivery["state"]) == (delivery_id, "failed")
    assert receiver.requests == []


def test_a_queue_that_cannot_be_reached_is_an_error_not_a_count(make_config):
    """Redis down: the sweep fails loudly; the rows it claimed are found again later."""
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    manager = AddonManager(make_config(jobs__backend="redis", jobs__redis_url=url))
    try:
        registry = manager.install(["fx_orm"])
        hook_id = add_webhook(registry, "https://example.com/hook")
        lost = add_deliveries(registry, hook_id, 2, next_attempt=ago(hours=1))
        with pytest.raises(Exception, match="(?i)connect"):
            requeue_lost(registry)
        assert all(d["next_attempt"] >= ago(minutes=1) for d in deliveries(registry))
        assert requeue_lost(registry) == 0  # claimed: nothing to queue for now
        later = utcnow() + REQUEUE_GRACE + datetime.timedelta(minutes=1)
        with pytest.raises(Exception, match="(?i)connect"):
            requeue_lost(registry, now=later)  # found again, and still no queue
        assert existing_ids(registry) == lost
    finally:
        manager.db.close()


# -- pruning ------------------------------------------------------------------------------------------


def test_pruning_deletes_only_old_sent_and_failed_deliveries(registry):
    hook_id = add_webhook(registry, "https://example.com/hook")
    old_sent = add_deliveries(registry, hook_id, 5, state="sent", next_attempt=None)
    old_failed = add_deliveries(registry, hook_id, 3, state="failed", next_attempt=None)
    old_pending = add_deliveries(registry, hook_id, 2, next_attempt=ago(days=40))
    recent_sent = add_deliveries(registry, hook_id, 2, state="sent", next_attempt=None)
    recent_failed = add_deliveries(registry, hook_id, 1, state="failed", next_attempt=None)
    retried = add_deliveries(registry, hook_id, 1, state="failed", next_attempt=None)
    set_columns(registry, old_sent + old_failed + old_pending, write_date=ago(days=31))
    set_columns(registry, old_sent + old_failed + old_pending + retried, create_date=ago(days=60))
    set_columns(registry, recent_sent + recent_failed, write_date=ago(days=29))
    with registry.transaction() as env:  # a file attached to an old delivery goes with it
        env["ir.attachment"].create(
            [
                {"name": "a.txt", "res_model": "ir.webhook.delivery", "res_id": old_sent[0]},
                {"name": "b.txt", "res_model": "ir.webhook.delivery", "res_id": retried[0]},
            ]
        )

    assert prune_deliveries(registry, 30, batch=3) == 8  # in three transactions
    kept = sorted(old_pending + recent_sent + recent_failed + retried)
    assert existing_ids(registry) == kept
    with registry.transaction(write=False) as env:
        files = env["ir.attachment"].search([("res_model", "=", "ir.webhook.delivery")])
        assert files.mapped("res_id") == retried
    assert prune_deliveries(registry, 30) == 0
    assert prune_deliveries(registry, 0) == 0  # 0: keep forever
    assert existing_ids(registry) == kept
    assert prune_deliveries(registry, 28) == 3  # the recent ones are older than 28 days
    assert existing_ids(registry) == sorted(old_pending + retried)
    with pytest.raises(KontoraError, match="whole number from 0 to 36500"):
        prune_deliveries(registry, -1)


def test_the_daily_job_prunes_after_webhooks_keep_days(make_config):
    manager = AddonManager(make_config(webhooks__keep_days=7))
    try:
        registry = manager.install(["fx_orm"])
        hook_id = add_webhook(registry, "https://example.com/hook")
        old = add_deliveries(registry, hook_id, 2, state="sent", next_attempt=None)
        young = add_deliveries(registry, hook_id, 1, state="sent", next_attempt=None)
        set_columns(registry, old, write_date=ago(days=8))
        set_columns(registry, young, write_date=ago(days=6))
        queue = registry.jobs
        assert "webhook.prune" not in queue.enqueue_due(datetime.datetime(2030, 1, 1, 12, 10))
        assert "webhook.prune" in queue.enqueue_due(datetime.datetime(2030, 1, 1, 3, 10))
        assert existing_ids(registry) == young

        forever = registry.config.replace(webhooks__keep_days=0)
        assert prune_deliveries(load_registry(forever, registry.db)) == 0
        set_columns(registry, young, write_date=ago(days=4000))
        assert prune_deliveries(load_registry(forever, registry.db)) == 0
        assert existing_ids(registry) == young
    finally:
        manager.db.close()


@pytest.mark.parametrize("value", [-1, 36501, "many", True])
def test_webhooks_keep_days_is_checked(value):
    with pytest.raises(ConfigError, match=r"webhooks\.keep_days .*from 0 to 36500"):
        load_config(environ={}, overrides={"webhooks.keep_days": value})


def test_webhooks_keep_days_defaults_to_30():
    assert load_config(environ={})["webhooks.keep_days"] == 30
    assert load_config(environ={"KONTORA_WEBHOOKS_KEEP_DAYS": "0"})["webhooks.keep_days"] == 0


# -- the commands ---------------------------------------------------------------------------------------


@pytest.fixture
def kontora(capsys, monkeypatch):
    """``kontora(*args)`` in this process: (exit code, stdout, stderr)."""

    def call(*args):
        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            cli.main([str(a) for a in args])
        out, err = capsys.readouterr()
        return exited.value.code, out, err

    return call


@pytest.fixture
def config_file(tmp_path, databases, db_kind):
    return write_config(tmp_path / "kontora.toml", databases.url(db_kind))


def test_requeue_command(kontora, config_file, receiver):
    code, _out, err = kontora("--config", config_file, "webhooks", "requeue")
    assert code == 1
    assert one_error_line(err).endswith("is not initialised: run `kontora init` first")

    assert kontora("--config", config_file, "init", "--addons", "fx_orm")[0] == 0
    registry = open_registry(load_config(config_file, environ={}))
    try:
        hook_id = add_webhook(registry, receiver.url)
        lost = add_deliveries(registry, hook_id, 2, next_attempt=ago(hours=1))
        add_deliveries(registry, hook_id, 1, next_attempt=ago(minutes=1))
        code, out, err = kontora("--config", config_file, "webhooks", "requeue")
        assert (code, out, err) == (0, "Re-queued 2 webhook deliveries\n", "")
        # The configuration runs jobs at once (immediate): both went to the receiver.
        assert sorted(b["delivery_id"] for b in receiver.bodies) == lost
        code, out, _err = kontora("--config", config_file, "webhooks", "requeue")
        assert (code, out) == (0, "Re-queued 0 webhook deliveries\n")
        set_columns(registry, lost[:1], state="pending", next_attempt=ago(hours=1))
        code, out, _err = kontora("--config", config_file, "webhooks", "requeue")
        assert (code, out) == (0, "Re-queued 1 webhook delivery\n")
        assert len(receiver.requests) == 3
    finally:
        registry.db.close()


def test_requeue_command_with_a_queue_names_the_worker(kontora, config_file):
    config_file.write_text(config_file.read_text().replace('"immediate"', '"sqlite"'))
    assert kontora("--config", config_file, "init", "--addons", "fx_orm")[0] == 0
    registry = open_registry(load_config(config_file, environ={}))
    try:
        hook_id = add_webhook(registry, "https://example.com/hook")
        lost = add_deliveries(registry, hook_id, 1, next_attempt=ago(hours=1))
        code, out, _err = kontora("--config", config_file, "webhooks", "requeue")
        assert (code, out) == (0, "Re-queued 1 webhook delivery; `kontora worker` sends them\n")
        assert queued_deliveries(registry) == lost
    finally:
        registry.db.close()


def test_prune_command(kontora, config_file):
    assert kontora("--config", config_file, "init", "--addons", "fx_orm")[0] == 0
    registry = open_registry(load_config(config_file, environ={}))
    try:
        hook_id = add_webhook(registry, "https://example.com/hook")
        old = add_deliveries(registry, hook_id, 3, state="sent", next_attempt=None)
        middle = add_deliveries(registry, hook_id, 1, state="failed", next_attempt=None)
        pending = add_deliveries(registry, hook_id, 1, next_attempt=ago(days=90))
        set_columns(registry, old + pending, write_date=ago(days=90))
        set_columns(registry, middle, write_date=ago(days=10))

        code, out, err = kontora("--config", config_file, "webhooks", "prune")
        assert (code, err) == (0, "")
        assert out == "Removed 3 webhook deliveries sent or failed more than 30 days ago\n"
        code, out, _err = kontora("--config", config_file, "webhooks", "prune", "--days", "7")
        assert (code, out) == (
            0,
            "Removed 1 webhook delivery sent or failed more than 7 days ago\n",
        )
        code, out, _err = kontora("--config", config_file, "webhooks", "prune", "--days=7")
        assert (code, out) == (
            0,
            "Removed 0 webhook deliveries sent or failed more than 7 days ago\n",
        )
        assert existing_ids(registry) == pending

        for bad in ["0", "-3", "abc", "1.5", "", "36501", "٣"]:
            code, out, err = kontora("--config", config_file, "webhooks", "prune", "--days", bad)
            assert (code, out) == (1, ""), bad
            assert one_error_line(err) == (
                f"Error: --days: expected a whole number of days from 1 to 36500, got {bad!r}"
            )
        assert existing_ids(registry) == pending

        config_file.write_text(config_file.read_text() + "\n[webhooks]\nkeep_days = 0\n")
        code, out, _err = kontora("--config", config_file, "webhooks", "prune")
        assert (code, out) == (
            0,
            "webhooks.keep_days is 0: the delivery log is kept; nothing removed\n",
        )
    finally:
        registry.db.close()
