"""Background jobs on a real huey queue: immediate, SQLite file, Redis, and `kontora worker`."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from email import message_from_bytes, policy

import pytest

from core.exceptions import KontoraError
from core.jobs.queue import PERIODIC_TASK, Job, JobQueue, queue_name
from core.modules.loading import load_registry
from core.modules.manager import AddonManager
from core.modules.worker import run_worker

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def open_db(make_config):
    """``open_db("fx_jobs", jobs__backend="sqlite")``: a fresh database with those addons."""
    managers = []

    def factory(*addons, **overrides):
        config = make_config(**overrides)
        manager = AddonManager(config)
        managers.append(manager)
        return manager.install(list(addons))

    yield factory
    for manager in managers:
        if not manager.db.is_closed():
            manager.db.close()


def logs(registry, name=None):
    with registry.transaction(write=False) as env:
        domain = [("name", "=", name)] if name else []
        return [(rec.name, rec.value) for rec in env["fx.job.log"].search(domain, order="id")]


def wait_for(predicate, timeout=30.0, what="the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- immediate backend: the contract of a job ------------------------------------------------------


def test_job_runs_after_commit_in_its_own_transaction(open_db):
    registry = open_db("fx_jobs")
    with registry.transaction() as env:
        env.enqueue("fx_jobs.record", name="a", value=1)
        assert env["fx.job.log"].search_count([]) == 0  # not before the commit
    assert logs(registry) == [("a", 1)]


def test_rolled_back_transaction_queues_nothing(open_db):
    registry = open_db("fx_jobs")
    with pytest.raises(RuntimeError), registry.transaction() as env:
        env.enqueue("fx_jobs.record", name="a")
        raise RuntimeError("undo")
    assert logs(registry) == []


def test_enqueue_checks_the_job_and_its_payload(open_db):
    registry = open_db("fx_jobs")
    with pytest.raises(KontoraError, match="unknown job 'nope'"):
        registry.jobs.enqueue("nope")
    with registry.transaction() as env:
        users = env["res.users"].search([])
        with pytest.raises(KontoraError, match="recordset; pass its ids"):
            registry.jobs.enqueue("fx_jobs.record", name=users)
        with pytest.raises(KontoraError, match="cannot be queued"):
            registry.jobs.enqueue("fx_jobs.record", name=lambda: 1)


def test_job_failed_keeps_its_writes_and_is_retried(open_db):
    registry = open_db("fx_jobs")
    registry.jobs.enqueue("fx_jobs.flaky", name="f", fail_times=2)
    # Two failed tries (kept: JobFailed commits), then a third that succeeds.
    assert logs(registry) == [("f", 0), ("f", 0), ("f", 1)]


def test_retries_stop_at_the_job_limit(open_db):
    registry = open_db("fx_jobs")
    registry.jobs.enqueue("fx_jobs.flaky", name="f", fail_times=99)
    assert len(logs(registry)) == 1 + 3  # the first try and retries=3


def test_an_exception_rolls_the_job_back(open_db, tmp_path):
    registry = open_db("fx_jobs")
    marker = tmp_path / "tries.txt"
    registry.jobs.enqueue("fx_jobs.boom", name="b", marker=str(marker))
    assert marker.read_text().count("try") == 2  # retries=1
    assert logs(registry) == []  # each try's write was rolled back


def test_a_job_can_queue_another_one(open_db):
    registry = open_db("fx_jobs")
    registry.jobs.enqueue("fx_jobs.chain", name="c", value=5)
    assert logs(registry) == [("c", 5), ("c.next", 6)]


def test_run_now_raises_what_the_job_raises(open_db, tmp_path):
    registry = open_db("fx_jobs")
    assert registry.jobs.run_now("fx_jobs.record", name="x") == "x"
    with pytest.raises(RuntimeError, match="boom"):
        registry.jobs.run_now("fx_jobs.boom", name="b", marker=str(tmp_path / "m"))
    assert logs(registry) == [("x", 0)]


def test_job_settings_may_depend_on_the_configuration(open_db):
    registry = open_db(mail__max_attempts=7)
    job = registry.jobs.jobs["mail.send"]
    assert job.retry_settings(registry.config) == (6, 60.0, 2.0)
    assert job.transaction is False
    assert Job("x", print).retry_settings(None) == (0, 10.0, 0.0)


def test_register_jobs_must_return_jobs(registry):
    with pytest.raises(KontoraError, match="not a core.jobs.Job"):
        JobQueue(registry, ["not a job"])
    with pytest.raises(KontoraError, match="periodic must be a crontab"):
        JobQueue(registry, [Job("x", print, periodic="* * * * *")])


# -- periodic tasks ---------------------------------------------------------------------------------


def fx(names) -> list[str]:
    """The fixture addon's jobs among ``names`` (base has periodic jobs of its own)."""
    return sorted(name for name in names if name.startswith("fx_jobs."))


def test_periodic_tasks_from_register_jobs(open_db):
    registry = open_db("fx_jobs")
    queue = registry.jobs
    assert fx(queue.periodic_jobs()) == ["fx_jobs.nightly", "fx_jobs.tick"]
    assert {"webhook.requeue", "webhook.prune"} <= set(queue.periodic_jobs())  # base's own
    huey = queue.huey
    tasks = {type(t).__name__: t for t in huey._registry.periodic_tasks}
    assert set(tasks) == {PERIODIC_TASK + name for name in queue.periodic_jobs()}
    assert tasks[PERIODIC_TASK + "fx_jobs.nightly"].retries == 2
    at_0230 = datetime.datetime(2030, 5, 6, 2, 30)
    at_0300 = datetime.datetime(2030, 5, 6, 3, 0)
    assert fx(t.kontora_job for t in huey.read_periodic(at_0230)) == [
        "fx_jobs.nightly",
        "fx_jobs.tick",
    ]
    assert fx(t.kontora_job for t in huey.read_periodic(at_0300)) == ["fx_jobs.tick"]

    # What the worker's scheduler does each minute; the immediate backend runs them at once.
    assert fx(queue.enqueue_due(at_0230)) == ["fx_jobs.nightly", "fx_jobs.tick"]
    assert sorted(logs(registry)) == [("nightly", 0), ("tick", 0)]
    assert queue.enqueue_due(at_0230.replace(second=40)) == []  # that minute is taken
    assert fx(queue.enqueue_due(at_0300)) == ["fx_jobs.tick"]


def test_periodic_run_is_claimed_once_across_queues(open_db):
    """Two processes (two registries, two huey connections) with a scheduler each."""
    registry = open_db("fx_jobs", jobs__backend="sqlite")
    other = load_registry(registry.config)
    minute = datetime.datetime(2030, 1, 1, 12, 0)
    first = registry.jobs.enqueue_due(minute)
    second = other.jobs.enqueue_due(minute + datetime.timedelta(seconds=30))
    assert fx(first + second) == ["fx_jobs.tick"]
    assert len(first + second) == len(set(first + second))  # each job once
    assert registry.jobs.pending_count() == len(first + second)
    # Claims older than a couple of hours are forgotten as new ones are made.
    later = minute + datetime.timedelta(hours=3)
    assert fx(other.jobs.enqueue_due(later)) == ["fx_jobs.tick"]
    huey = registry.jobs.huey
    assert huey.get("kontora:periodic:fx_jobs.tick", peek=True) == [later]
    assert fx(registry.jobs.enqueue_due(minute)) == ["fx_jobs.tick"]  # forgotten, so claimable


# -- the SQLite file queue ------------------------------------------------------------------------------


def test_sqlite_queue_keeps_jobs_until_a_consumer_runs_them(open_db):
    registry = open_db("fx_jobs", jobs__backend="sqlite")
    with registry.transaction() as env:
        env.enqueue("fx_jobs.record", name="queued", value=3)
    assert registry.jobs.pending_count() == 1
    assert logs(registry) == []

    # Another registry on the same configuration (what a worker process builds) consumes it.
    worker = load_registry(registry.config)
    huey = worker.jobs.huey
    task = huey.dequeue()
    assert task is not None
    huey.execute(task)
    assert logs(registry) == [("queued", 3)]
    assert huey.pending_count() == 0


def test_sqlite_queue_schedules_retries_with_their_delay(open_db):
    registry = open_db("fx_jobs", jobs__backend="sqlite")
    registry.jobs.enqueue("fx_jobs.flaky", name="f", fail_times=1)
    huey = registry.jobs.huey
    before = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    huey.execute(huey.dequeue())
    assert logs(registry) == [("f", 0)]
    assert huey.pending_count() == 0 and huey.scheduled_count() == 1
    (retry,) = huey.scheduled()
    assert retry.retries == 2
    assert before < retry.eta <= before + datetime.timedelta(seconds=2)  # retry_delay=1
    assert huey.read_schedule(before) == []  # not due yet
    due = huey.read_schedule(retry.eta)
    assert len(due) == 1
    huey.execute(due[0], retry.eta)
    assert logs(registry) == [("f", 0), ("f", 1)]


def test_worker_refuses_the_immediate_backend(open_db):
    registry = open_db()
    with pytest.raises(KontoraError, match="immediate"):
        run_worker(registry.config)
    with pytest.raises(KontoraError, match="immediate"):
        registry.jobs.consumer()


def test_queue_is_named_after_the_database(make_config, tmp_path):
    sqlite = make_config(url=f"sqlite:///{tmp_path}/crm.sqlite3")
    assert queue_name(sqlite) == "kontora.crm"
    pg = make_config(url="postgresql://user:secret@db.example.com:5433/sales")
    assert queue_name(pg) == "kontora.sales"
    assert queue_name(None) == "kontora"


# -- Redis ------------------------------------------------------------------------------------------------


@pytest.fixture
def redis_url(tmp_path):
    server = shutil.which("redis-server")
    if not server:
        pytest.skip("redis-server is not installed")
    port = free_port()
    proc = subprocess.Popen(
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def listening():
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", port)) == 0

    try:
        wait_for(listening, 10, "redis-server")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


def test_redis_queue(open_db, redis_url):
    registry = open_db("fx_jobs", jobs__backend="redis", jobs__redis_url=redis_url)
    with registry.transaction() as env:
        env.enqueue("fx_jobs.record", name="via redis", value=9)
    assert registry.jobs.pending_count() == 1
    worker = load_registry(registry.config)
    huey = worker.jobs.huey
    huey.execute(huey.dequeue())
    assert logs(registry) == [("via redis", 9)]


# -- `kontora worker` processes -----------------------------------------------------------------------


def _toml(config, keys):
    sections = {}
    for key in keys:
        section, name = key.split(".")
        sections.setdefault(section, []).append(f"{name} = {json.dumps(config[key])}")
    return "\n".join(f"[{s}]\n" + "\n".join(lines) + "\n" for s, lines in sections.items())


class Workers:
    """`kontora --config FILE worker` subprocesses, stopped with SIGINT at the end."""

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.procs = []

    def start(self, config):
        index = len(self.procs)
        path = self.tmp_path / f"worker-{index}.toml"
        keys = ["database.url", "addons.paths", "jobs.backend", "jobs.sqlite_path", "jobs.workers"]
        keys += [k for k in config.as_dict() if k.startswith("mail.")]
        path.write_text(_toml(config, keys) + '[log]\nlevel = "INFO"\n')
        environ = {k: v for k, v in os.environ.items() if not k.startswith("KONTORA_")}
        log = open(self.tmp_path / f"worker-{index}.log", "w")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "cli.py"), "--config", str(path), "worker"],
            cwd=ROOT,
            env=environ,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.procs.append((proc, log, self.tmp_path / f"worker-{index}.log"))
        return proc

    def output(self):
        return "\n".join(path.read_text() for _p, _l, path in self.procs)

    def stop(self):
        codes = []
        for proc, log, _path in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
            try:
                codes.append(proc.wait(20))
            except subprocess.TimeoutExpired:
                proc.kill()
                codes.append(proc.wait(5))
            log.close()
        self.procs = []
        return codes


@pytest.fixture
def workers(tmp_path):
    started = Workers(tmp_path)
    yield started
    started.stop()


class Inbox:
    async def handle_DATA(self, server, session, envelope):
        self.received.append(envelope)
        return "250 Message accepted for delivery"

    def __init__(self):
        self.received = []


@pytest.mark.slow
def test_worker_processes_run_jobs_retries_mail_and_periodic_tasks(open_db, workers):
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    try:
        registry = open_db(
            "fx_jobs",
            jobs__backend="sqlite",
            jobs__workers=2,
            mail__smtp_port=smtp.port,
        )
        # Queued before any worker runs: the queue keeps them.
        with registry.transaction() as env:
            env.enqueue("fx_jobs.record", name="early", value=1)
            env["mail.mail"].create(
                {"email_to": "client@example.com", "subject": "From the worker", "body_text": "Hi"}
            ).send()
        assert registry.jobs.pending_count() == 2

        # Two workers, as on a production host with two services: each job runs once.
        workers.start(registry.config)
        workers.start(registry.config)
        with registry.transaction() as env:
            env.enqueue("fx_jobs.flaky", name="flaky", fail_times=1)  # retried a second later
            env.enqueue("fx_jobs.chain", name="chain", value=10)
            for i in range(10):
                env.enqueue("fx_jobs.record", name="many", value=i)

        wait_for(lambda: logs(registry, "early"), what="the job queued before the workers")
        wait_for(lambda: ("flaky", 1) in logs(registry, "flaky"), what="the retried job")
        wait_for(lambda: logs(registry, "chain.next"), what="the job queued by a job")
        wait_for(lambda: len(logs(registry, "many")) == 10, what="ten jobs")
        wait_for(lambda: inbox.received, what="the mail")
        wait_for(lambda: logs(registry, "tick"), what="the periodic task")

        assert logs(registry, "flaky") == [("flaky", 0), ("flaky", 1)]
        assert logs(registry, "chain.next") == [("chain.next", 11)]
        assert sorted(v for _n, v in logs(registry, "many")) == list(range(10))
        message = message_from_bytes(inbox.received[0].content, policy=policy.default)
        assert message["Subject"] == "From the worker"
        assert inbox.received[0].rcpt_tos == ["client@example.com"]
        with registry.transaction(write=False) as env:
            mail = env["mail.mail"].search([])
            assert (mail.state, mail.attempts) == ("sent", 1)

        # Both schedulers checked the periodic tasks (at start, then once a minute); the tick
        # ran once for each minute claimed (one, or two if they started across a minute).
        claims = registry.jobs.huey.storage.sql(
            "SELECT key FROM kv WHERE queue = ? AND key LIKE ?",
            (registry.jobs.huey.name, "kontora:periodic:fx_jobs.tick:%"),
            results=True,
        )
        assert 1 <= len(claims) <= 2
        wait_for(lambda: len(logs(registry, "tick")) == len(claims), what="one tick per claim")
        time.sleep(0.3)
        assert len(logs(registry, "tick")) == len(claims)
    finally:
        smtp.stop()
    codes = workers.stop()
    assert codes == [0, 0], workers.output()
    assert "Traceback" not in workers.output().replace("JobFailed", ""), workers.output()


@pytest.mark.slow
def test_worker_picks_up_an_addon_installed_after_it_started(make_config, workers):
    config = make_config(jobs__backend="sqlite")
    manager = AddonManager(config)
    manager.install([])
    workers.start(config)
    wait_for(lambda: "Huey consumer started" in workers.output(), what="the worker")
    jobs_line = next(line for line in workers.output().splitlines() if "jobs: " in line)
    assert "mail.send" in jobs_line and "fx_jobs" not in jobs_line  # its registry: base only
    registry = manager.install(["fx_jobs"])
    registry.jobs.enqueue("fx_jobs.record", name="new addon", value=2)
    wait_for(lambda: logs(registry, "new addon"), what="the new addon's job")
    assert workers.stop() == [0]
    manager.db.close()


def test_a_lost_database_connection_is_replaced(open_db, db_kind):
    """PostgreSQL restarted under a worker: the job's retry connects afresh."""
    if db_kind != "postgresql":
        pytest.skip("PostgreSQL only")
    from tests.conftest import _pg_connect

    registry = open_db("fx_jobs")
    assert logs(registry) == []  # this thread's connection is open
    admin = _pg_connect()
    admin.cursor().execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = %s AND pid <> pg_backend_pid()",
        (registry.db.database,),
    )
    admin.close()
    registry.jobs.enqueue("fx_jobs.flaky", name="after", fail_times=0)  # retries=3
    assert logs(registry, "after") == [("after", 1)]


def test_jobs_of_a_nested_transaction_wait_for_the_outer_commit(make_config, tmp_path):
    """A savepoint's jobs are queued only when the outermost transaction commits."""
    from core.modules.manager import AddonManager

    config = make_config()
    registry = AddonManager(config).install(["fx_jobs"])
    ran = []
    with pytest.raises(RuntimeError), registry.transaction():
        with registry.transaction() as inner:
            inner.on_commit(lambda: ran.append("rolled back"))
        raise RuntimeError("outer fails")
    with registry.transaction():
        with registry.transaction() as inner:
            inner.on_commit(lambda: ran.append("committed"))
        assert ran == []
    assert ran == ["committed"]
    env = registry.env(su=True)
    env.on_commit(lambda: ran.append("autocommit"))
    assert ran == ["committed", "autocommit"]
