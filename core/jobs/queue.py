"""Background jobs and periodic tasks on huey: a SQLite file queue by default, Redis in
production, or ``immediate`` (jobs run at once in the process that queues them: tests, scripts).

Addons provide :class:`Job` objects through the ``register_jobs`` hook. Code queues one with
``env.enqueue(name, **payload)`` (sent once the transaction commits) or
``registry.jobs.enqueue(name, **payload)``. A queued message holds only the job's name and its
payload; every process (web worker, ``kontora worker``, shell) builds its own registry and with
it its own :class:`JobQueue` and huey instance, so any process of the same database can run
any message, and a worker picks up addons installed after it started.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import pickle
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import huey
import peewee
from huey import crontab
from huey.consumer import Consumer, Scheduler
from huey.exceptions import CancelExecution

from core.exceptions import KontoraError
from core.plugins import call_in_order

__all__ = ["Job", "JobFailed", "JobQueue", "crontab", "queue_name", "run_job"]

_logger = logging.getLogger(__name__)

RUN_TASK = "kontora_job"  # the one huey task that runs any queued job by name
PERIODIC_TASK = "kontora_periodic:"  # + job name: one huey periodic task per periodic job
CLAIMS_KEPT = datetime.timedelta(hours=2)  # how long a "this minute's run is taken" mark stays


@dataclass
class Job:
    """A job an addon provides: ``fn(env, **payload)`` runs in its own transaction.

    ``retries`` and ``retry_delay`` (seconds) may be numbers or functions of the
    configuration (``lambda config: config["mail.max_attempts"] - 1``). ``retry_backoff``
    multiplies the delay after each retry (0: a constant delay). ``periodic`` is a
    ``crontab(...)`` (evaluated in UTC) for a task the worker runs on a schedule.

    ``transaction=False`` is for jobs that wait on the network (SMTP, IMAP, webhooks):
    ``fn`` gets an environment outside any transaction and opens short ones itself with
    ``env.registry.transaction()``, so that it holds no database lock while it waits.
    """

    name: str
    fn: Callable
    retries: int | Callable = 0
    retry_delay: int | float | Callable = 10
    periodic: Any = None
    retry_backoff: float = 0
    transaction: bool = True

    def retry_settings(self, config) -> tuple[int, float, float]:
        """(retries, retry delay, backoff) with the configuration applied."""
        retries = self.retries(config) if callable(self.retries) else self.retries
        delay = self.retry_delay(config) if callable(self.retry_delay) else self.retry_delay
        return max(int(retries), 0), max(float(delay), 0.0), float(self.retry_backoff or 0)


class JobFailed(KontoraError):
    """Raise from a job to fail this run but keep what it wrote (a failure count, a reason).

    The transaction commits, then the queue runs the job again after its retry delay while
    retries remain. Any other exception rolls the job's transaction back.
    """


def run_job(registry, job: Job, payload: dict):
    """Run one job in this process: in its own transaction, or with ``transaction=False``
    in an environment outside any transaction."""
    if not job.transaction:
        return job.fn(registry.env(), **payload)
    failure = None
    result = None
    with registry.transaction() as env:
        try:
            result = job.fn(env, **payload)
        except JobFailed as exc:
            failure = exc
    if failure is not None:
        raise failure
    return result


def queue_name(config) -> str:
    """The queue's name in its storage: one queue per database, named after the database.

    Web processes and workers of one database agree on it however they spell the URL;
    two databases can share one Redis (or one SQLite queue file) without taking each
    other's jobs.
    """
    if config is None:
        return "kontora"
    url = config.database_url
    if url.startswith("sqlite:///"):
        label = Path(url[len("sqlite:///") :]).stem or "memory"
    else:
        label = urlparse(url).path.lstrip("/") or "postgres"
    return f"kontora.{label}"


class JobQueue:
    """The jobs of one registry and the huey queue they go through.

    The huey instance is made on first use, so registries built only to be looked at
    (install plans, tests) open no queue.
    """

    def __init__(self, registry, jobs):
        self.registry = registry
        self.config = getattr(registry, "config", None)
        self.backend = self.config["jobs.backend"] if self.config is not None else "immediate"
        self.jobs: dict[str, Job] = {}
        for job in jobs:
            if not isinstance(job, Job):
                raise KontoraError(f"register_jobs returned {job!r}, not a core.jobs.Job")
            if job.periodic is not None and not callable(job.periodic):
                raise KontoraError(f"job {job.name!r}: periodic must be a crontab(...)")
            self.jobs[job.name] = job  # a later addon (in dependency order) may replace a job
        self._huey = None
        self._task = None
        self._periodic: dict[str, Any] = {}
        self._periodic_version = None
        self._lock = threading.RLock()

    @classmethod
    def for_registry(cls, registry):
        jobs = []
        for _addon, provided in _collect(registry):
            jobs.extend([provided] if isinstance(provided, Job) else provided)
        return cls(registry, jobs)

    # -- the huey instance ---------------------------------------------------------------------
    @property
    def huey(self) -> huey.Huey:
        if self._huey is None:
            with self._lock:
                if self._huey is None:
                    self._huey = self._make_huey()
        return self._huey

    def _make_huey(self) -> huey.Huey:
        name = queue_name(self.config)
        options = {"results": False, "utc": True}
        if self.backend == "immediate":
            instance = huey.MemoryHuey(name, immediate=True, **options)
        elif self.backend == "sqlite":
            path = Path(self.config["jobs.sqlite_path"])
            path.parent.mkdir(parents=True, exist_ok=True)
            instance = huey.SqliteHuey(name, filename=str(path), **options)
        elif self.backend == "redis":
            instance = huey.RedisHuey(name, url=self.config["jobs.redis_url"], **options)
        else:
            raise KontoraError(f"jobs.backend: unknown backend {self.backend!r}")
        instance.kontora_queue = self
        self._task = instance.task(name=RUN_TASK, context=True)(self._run_task)
        self._sync_periodic(instance)
        return instance

    def _current_jobs(self) -> dict[str, Job]:
        """The jobs of the registry as it is now (it may have been rebuilt since)."""
        current = self.registry.jobs
        return current.jobs if current is not None else self.jobs

    # -- queueing ------------------------------------------------------------------------------------
    def enqueue(self, name, /, **payload):
        """Queue job ``name``; the payload must pickle (pass ids, not recordsets).

        Returns the queued task's id. With the ``immediate`` backend the job (and its
        retries, without waiting) runs before this returns; its failure is logged, as a
        worker would.
        """
        job = self.jobs.get(name)
        if job is None:
            raise KontoraError(f"unknown job {name!r}: no installed addon provides it")
        _check_payload(name, payload)
        retries, delay, backoff = job.retry_settings(self.config)
        queue = self.huey
        if self.backend == "immediate":
            delay = 0  # retries run at once: nothing would ever run a delayed one
            payload = pickle.loads(pickle.dumps(payload))  # the job sees a copy, as from a queue
        task = self._task.s(
            name, payload, retries=retries, retry_delay=delay, retry_backoff=backoff
        )
        queue.enqueue(task)
        return task.id

    def run_now(self, name, /, **payload):
        """Run job ``name`` here and now, without the queue and without retries."""
        job = self.jobs.get(name)
        if job is None:
            raise KontoraError(f"unknown job {name!r}: no installed addon provides it")
        return run_job(self.registry, job, payload)

    @contextlib.contextmanager
    def lock(self, name, stale_after=600):
        """A lock that every process using this queue sees: ``with queue.lock("x") as held:``.

        ``held`` is False when another job holds it (do not wait: skip or fail). A lock
        older than ``stale_after`` seconds is taken as left by a killed process and broken.
        """
        instance = self.huey
        key = f"kontora:lock:{name}"
        now = time.time()
        held = instance.put_if_empty(key, now)
        if not held:
            since = instance.get(key, peek=True)
            if since is not None and since < now - stale_after:
                _logger.warning("breaking lock %s, held since %s", name, time.ctime(since))
                instance.delete(key)
                held = instance.put_if_empty(key, now)
        try:
            yield held
        finally:
            if held:
                instance.delete(key)

    def pending_count(self) -> int:
        """How many messages wait in the queue (not counting scheduled retries)."""
        return self.huey.pending_count()

    def scheduled_count(self) -> int:
        """How many retries (or delayed messages) wait for their time."""
        return self.huey.scheduled_count()

    # -- running (in whatever process consumes the queue) ---------------------------------------
    def _run_task(self, name, payload, task=None):
        registry = self.registry
        try:
            registry.reload_if_changed()  # addons installed since this process started
            job = self._current_jobs().get(name)
            if job is None:
                _logger.error("job %r: no installed addon provides it; message dropped", name)
                raise CancelExecution(f"unknown job {name!r}", retry=False)
            _logger.info("running job %s (task %s)", name, task.id if task is not None else "-")
            return run_job(registry, job, payload)
        except JobFailed as exc:
            left = task.retries if task is not None else 0
            if left:
                _logger.warning(
                    "job %s failed: %s (%d retries left, next in %ss)",
                    name,
                    exc,
                    left,
                    round(task.retry_delay or 0),
                )
            else:
                _logger.error("job %s failed: %s (no retries left)", name, exc)
            raise
        except (peewee.OperationalError, peewee.InterfaceError):
            # The database went away (restart, network): drop this thread's connection so
            # that the retry, or the next job, connects afresh instead of failing forever.
            _drop_connection(registry.db)
            raise

    # -- periodic jobs ---------------------------------------------------------------------------
    def periodic_jobs(self) -> dict[str, Job]:
        return {name: job for name, job in self._current_jobs().items() if job.periodic is not None}

    def _sync_periodic(self, instance):
        """Register one huey periodic task per periodic job; after a registry reload, add the
        new ones and drop the gone ones. A registered task always asks the current job for its
        crontab and settings, so the tasks of jobs that stay are never re-registered (a worker
        thread may be reading one of their messages meanwhile)."""
        with self._lock:
            wanted = self.periodic_jobs()
            for name in [n for n in self._periodic if n not in wanted]:
                self._periodic.pop(name).unregister()
            for name, job in wanted.items():
                if name in self._periodic:
                    continue
                retries, delay, backoff = job.retry_settings(self.config)
                decorate = instance.periodic_task(
                    self._due_check(name),
                    retries=retries,
                    retry_delay=delay,
                    retry_backoff=backoff,
                    name=PERIODIC_TASK + name,
                    context=True,
                    kontora_job=name,
                )
                self._periodic[name] = decorate(self._periodic_runner(name))
            self._periodic_version = self.registry.version

    def _due_check(self, name):
        def is_due(timestamp):
            job = self._current_jobs().get(name)
            return job is not None and job.periodic is not None and bool(job.periodic(timestamp))

        return is_due

    def _periodic_runner(self, name):
        def run_periodic(task=None):
            return self._run_task(name, {}, task)

        return run_periodic

    def enqueue_due(self, now=None) -> list[str]:
        """Queue the periodic jobs whose crontab matches ``now`` (naive UTC; default: now).

        This is what the worker's scheduler does once a minute. Each job's run for a given
        minute is claimed in the queue's storage first, so with several workers (several
        schedulers) it still runs once.
        """
        instance = self.huey
        self.registry.reload_if_changed()
        if self._periodic_version != self.registry.version:
            self._sync_periodic(instance)
        if now is None:
            now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        minute = now.replace(second=0, microsecond=0)
        queued = []
        for due in instance.read_periodic(minute):
            name = due.kontora_job
            if self._claim(instance, name, minute):
                retries, delay, backoff = self._current_jobs()[name].retry_settings(self.config)
                if self.backend == "immediate":
                    delay = 0
                task = self._periodic[name].s(
                    retries=retries, retry_delay=delay, retry_backoff=backoff
                )
                instance.enqueue(task)
                queued.append(name)
            else:
                _logger.debug(
                    "periodic job %s at %s: already queued by another worker", name, minute
                )
        return queued

    @staticmethod
    def _claim(instance, name, minute) -> bool:
        key = f"kontora:periodic:{name}:{minute:%Y-%m-%dT%H:%M}"
        if not instance.put_if_empty(key, minute):
            return False
        # Forget old claims so that the storage does not grow; only the winner of a minute
        # writes this list, and minutes are a minute apart.
        history_key = f"kontora:periodic:{name}"
        kept = []
        for old in instance.get(history_key, peek=True) or []:
            if old < minute - CLAIMS_KEPT:
                instance.delete(f"kontora:periodic:{name}:{old:%Y-%m-%dT%H:%M}")
            else:
                kept.append(old)
        kept.append(minute)
        instance.put(history_key, kept)
        return True

    # -- the worker ------------------------------------------------------------------------------
    def consumer(self, **options) -> Consumer:
        """A huey consumer of this queue (threads; ``jobs.workers`` of them by default)."""
        if self.backend == "immediate":
            raise KontoraError(
                "jobs.backend is 'immediate': jobs run in the process that queues them and "
                "there is nothing for a worker to do; set jobs.backend to sqlite or redis"
            )
        options.setdefault("workers", self.config["jobs.workers"] if self.config else 1)
        options.setdefault("worker_type", "thread")
        options.setdefault("periodic", True)
        return _Consumer(self.huey, **options)


class _Scheduler(Scheduler):
    """huey's scheduler, with periodic runs claimed per minute (see ``enqueue_due``)."""

    def enqueue_periodic_tasks(self, now):
        try:
            for name in self.huey.kontora_queue.enqueue_due(now):
                self._logger.info("queued periodic job %s", name)
        except Exception:
            self._logger.exception("checking periodic jobs failed")


class _Consumer(Consumer):
    scheduler_class = _Scheduler


def _drop_connection(db):
    try:
        if not db.is_closed() and not db.in_transaction():
            db.close()
    except Exception:  # a broken connection may fail to close; it is dropped all the same
        _logger.debug("closing a broken database connection failed", exc_info=True)


def _check_payload(name, payload):
    for key, value in payload.items():
        if hasattr(value, "_ids") and hasattr(value, "env"):
            raise KontoraError(
                f"job {name!r}: payload {key!r} is a recordset; pass its ids instead "
                f"({key}={value.ids!r})"
            )
    try:
        pickle.dumps(payload)
    except Exception as exc:
        raise KontoraError(f"job {name!r}: the payload cannot be queued: {exc}") from None


class _HideExpectedFailures(logging.Filter):
    """huey logs every failed task with a traceback; a JobFailed is logged by us, briefly."""

    def filter(self, record):
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, JobFailed)


logging.getLogger("huey").addFilter(_HideExpectedFailures())


def _collect(registry):
    return call_in_order(registry.pm, "register_jobs", registry.addon_names)
