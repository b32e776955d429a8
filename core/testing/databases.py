"""Empty test databases of either kind (SQLite files, PostgreSQL databases) and their removal."""

from __future__ import annotations

import collections
import contextlib
import os
import threading
import uuid
from pathlib import Path

import psycopg2
import pytest

from core.testing import turns

PG_ADMIN_URL = os.environ.get("KONTORA_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REQUIRE_PG = os.environ.get("KONTORA_TEST_REQUIRE_PG") == "1"
DB_KINDS = tuple(
    [k for k in os.environ.get("KONTORA_TEST_DBS", "sqlite,postgresql").split(",") if k]
)

_PG_STATE: dict = {}


def pg_url(dbname: str) -> str:
    """The URL of database ``dbname`` on the test server (``KONTORA_TEST_PG``)."""
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + dbname


def pg_connect(dbname: str = "postgres"):
    """An autocommit psycopg2 connection to ``dbname`` on the test server."""
    conn = psycopg2.connect(pg_url(dbname))
    conn.autocommit = True
    return conn


def pg_available() -> bool:
    """Whether the test server answers (asked once per process)."""
    if "ok" not in _PG_STATE:
        try:
            pg_connect().close()
            _PG_STATE["ok"] = True
        except psycopg2.Error as exc:
            _PG_STATE["ok"] = False
            _PG_STATE["why"] = str(exc).strip()
    return _PG_STATE["ok"]


def require_pg():
    """Skip the test when PostgreSQL is unreachable; fail instead with KONTORA_TEST_REQUIRE_PG=1."""
    if pg_available():
        return
    if REQUIRE_PG:
        pytest.fail(
            "PostgreSQL is required (KONTORA_TEST_REQUIRE_PG=1) but not reachable: "
            f"{_PG_STATE.get('why')}"
        )
    pytest.skip("PostgreSQL is not reachable")


def pg_drop(cur, name: str):
    """Drop database ``name`` after ending every session on it."""
    cur.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = %s AND pid <> pg_backend_pid()",
        (name,),
    )
    cur.execute(f'DROP DATABASE IF EXISTS "{name}"')


def pg_name(url: str) -> str:
    return url.rsplit("/", 1)[1].split("?", 1)[0]


def sqlite_path(url: str) -> Path:
    return Path(url[len("sqlite:///") :])


def new_pg_name(prefix="kontora_test_") -> str:
    return prefix + uuid.uuid4().hex[:12]


_STOP = object()


class PgPool:
    """PostgreSQL databases made ahead of need and dropped after use, by background threads.

    Creating a database (empty, or as a copy of a template) and dropping one each cost from
    0.1 s to over a second of the server's disk work (a drop waits for a checkpoint). A test
    waits for none of it: it takes a database made while earlier tests ran, and hands its
    own over for dropping. Drops run on a few connections at once, so that one checkpoint
    serves several of them. ``take(source)`` gives a ready database copied from ``source``
    (None: an empty one), or None when none is ready yet; ``keep(source, n)`` asks for ``n``
    to be ready.
    """

    DROPPERS = 3
    FINAL_DROPPERS = 8

    def __init__(self):
        self._cond = threading.Condition()
        self._ready: dict[str | None, list[str]] = {}
        self._to_make: collections.deque = collections.deque()
        self._to_drop: collections.deque = collections.deque()
        self._stopping = False
        self._threads: list[threading.Thread] = []

    def take(self, source: str | None = None) -> str | None:
        with self._cond:
            ready = self._ready.get(source)
            return ready.pop(0) if ready else None

    def keep(self, source: str | None = None, count: int = 1):
        """Have ``count`` copies of ``source`` (None: empty databases) ready or on the way."""
        with self._cond:
            missing = count - len(self._ready.get(source, ())) - self._to_make.count(source)
            self._to_make.extend([source] * missing)
            self._wake()

    def give(self, source: str | None, name: str):
        """Take back ``name``, a copy of ``source`` nobody is connected to, for a later test."""
        with self._cond:
            self._ready.setdefault(source, []).append(name)

    def drop(self, name: str):
        with self._cond:
            self._to_drop.append(name)
            self._wake()

    def _wake(self):
        if not self._threads:
            workers = [self._make_loop] + [self._drop_loop] * self.DROPPERS
            for number, target in enumerate(workers):
                thread = threading.Thread(target=target, name=f"kontora-pg-{number}", daemon=True)
                self._threads.append(thread)
                thread.start()
        self._cond.notify_all()

    def _next(self, queue):
        """The next item of ``queue`` (waiting for one), or ``_STOP``."""
        with self._cond:
            while not (queue or self._stopping):
                self._cond.wait()
            if queue and not (self._stopping and queue is self._to_make):
                return queue.popleft()
            return _STOP

    def _make_loop(self):
        conn = pg_connect()
        try:
            while (source := self._next(self._to_make)) is not _STOP:
                name = new_pg_name()
                template = f' TEMPLATE "{source}"' if source else ""
                try:
                    with turns.shared(through_gate=False):
                        conn.cursor().execute(f'CREATE DATABASE "{name}"{template}')
                except psycopg2.Error:
                    continue  # the test that wanted it makes one itself
                with self._cond:
                    if self._stopping:
                        self._to_drop.append(name)
                    else:
                        self._ready.setdefault(source, []).append(name)
                    self._cond.notify_all()
        finally:
            conn.close()

    def _drop_loop(self):
        conn = pg_connect()
        try:
            while (name := self._next(self._to_drop)) is not _STOP:
                with contextlib.suppress(psycopg2.Error), turns.shared(through_gate=False):
                    pg_drop(conn.cursor(), name)
        finally:
            conn.close()

    def close(self, also=()):
        """Drop what is ready, what was handed back and ``also`` (templates); wait for it.

        The drops left at the end run on up to ``FINAL_DROPPERS`` connections at once:
        each waits for a checkpoint, and one checkpoint serves all that wait together."""
        with self._cond:
            self._stopping = True
            self._to_make.clear()
            for names in self._ready.values():
                self._to_drop.extend(names)
            self._ready.clear()
            threads = list(self._threads)
            self._cond.notify_all()
        if threads:
            threads[0].join()  # the maker: a copy it is making needs its template
        with self._cond:
            self._to_drop.extend(also)
            extra = min(self.FINAL_DROPPERS, len(self._to_drop))
        for number in range(extra):
            thread = threading.Thread(target=self._drop_loop, name=f"kontora-pg-end-{number}")
            threads.append(thread)
            thread.start()
        for thread in threads:
            thread.join()


class Databases:
    """Creates empty test databases of either kind and drops them afterwards (through
    ``pool``, a ``PgPool``, when given: made ahead, dropped in the background)."""

    def __init__(self, tmp_path, pool: PgPool | None = None):
        self.tmp_path = Path(tmp_path)
        self.pool = pool
        self.pg_names: list[str] = []

    def url(self, kind) -> str:
        """The URL of a new, empty database of ``kind`` (``sqlite`` or ``postgresql``)."""
        if kind == "sqlite":
            return f"sqlite:///{self.tmp_path / ('db-' + uuid.uuid4().hex[:8] + '.sqlite3')}"
        require_pg()
        name = self.pool.take() if self.pool else None
        if name is None:
            name = new_pg_name()
            conn = pg_connect()
            conn.cursor().execute(f'CREATE DATABASE "{name}"')
            conn.close()
        if self.pool:
            self.pool.keep(None, 2)
        self.pg_names.append(name)
        return pg_url(name)

    def drop_all(self):
        if not self.pg_names:
            return
        if self.pool:
            for name in self.pg_names:
                self.pool.drop(name)
            return
        conn = pg_connect()
        cur = conn.cursor()
        for name in self.pg_names:
            pg_drop(cur, name)
        conn.close()
