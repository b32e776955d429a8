"""Databases: a peewee database from a URL, SQLite tuned for concurrent use."""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import unquote, urlparse

import peewee

from core.exceptions import ConfigError


def _unicode_lower(value):
    return value.lower() if isinstance(value, str) else value


class KontoraSqliteDatabase(peewee.SqliteDatabase):
    """SQLite in WAL mode with foreign keys, a busy timeout and a Unicode lower()."""

    def __init__(self, path, busy_timeout_ms=10000, **kwargs):
        pragmas = {
            "journal_mode": "wal",
            "foreign_keys": 1,
            "synchronous": "normal",
            "busy_timeout": busy_timeout_ms,
            "cache_size": -32000,
        }
        super().__init__(path, pragmas=pragmas, timeout=busy_timeout_ms / 1000, **kwargs)
        # SQLite's own lower() and LIKE fold ASCII only; ilike on Cyrillic needs this.
        self.register_function(_unicode_lower, "ulower", 1, deterministic=True)

    def write_transaction(self):
        """A transaction that takes the write lock at once (no lock-upgrade deadlocks)."""
        return self.atomic(lock_type="IMMEDIATE")

    def execute_sql(self, sql, params=None, prepared=False):
        # sqlite3 keeps its own cache of compiled statements: ``prepared`` changes nothing.
        return super().execute_sql(sql, params)

    def execute_prepared(self, sql, params=()):
        """``execute_sql`` for a statement run over and over (see the PostgreSQL class)."""
        return self.execute_sql(sql, params, prepared=True)


class KontoraPostgresqlDatabase(peewee.PostgresqlDatabase):
    """PostgreSQL; write transactions are ordinary ones (row locks do the work).

    ``BEGIN`` travels with the transaction's first statement instead of alone (one round
    trip less per transaction), and a transaction that ran no statement sends neither
    ``BEGIN`` nor ``COMMIT``. A cursor taken directly (``db.cursor()``) opens the
    transaction first, so raw cursors stay inside it.

    ``execute_prepared`` runs the hot statements (an API key's look-up, reading records by
    id, a list's cached search) as server-side prepared statements, so PostgreSQL plans
    them once per connection instead of on every request: planning such a query costs
    several times more than running it.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # (sql, parameter count) -> (digest, text with $1..$n) of prepared statements
        self._prepared_texts: dict = {}

    def write_transaction(self):
        return self.atomic()

    def begin(self, isolation_level=None):
        if isolation_level or self._isolation_level:
            return super().begin(isolation_level)
        if self.is_closed():
            self.connect()  # now: connecting resets the transaction stack peewee keeps
        self._state.begin_pending = True
        return None

    def _take_begin(self) -> bool:
        state = self._state
        if getattr(state, "begin_pending", False):
            state.begin_pending = False
            return True
        return False

    def cursor(self, named_cursor=None):
        cursor = super().cursor(named_cursor)
        if self._take_begin():
            cursor.execute("BEGIN")
        return cursor

    def _execute_cursor(self, sql, params, **cursor_options):
        if self._take_begin():
            sql = "BEGIN; " + sql
        return super()._execute_cursor(sql, params, **cursor_options)

    def commit(self):
        if not self._take_begin():
            super().commit()

    def rollback(self):
        if not self._take_begin():
            super().rollback()

    def close(self):
        self._state.begin_pending = False
        return super().close()

    def execute_prepared(self, sql, params=()):
        return self.execute_sql(sql, params, prepared=True)

    def execute_sql(self, sql, params=None, prepared=False):
        if not prepared:
            return super().execute_sql(sql, params)
        return self._execute_prepared(sql, params or ())

    def _execute_prepared(self, sql, params):
        """``execute_sql(sql, params)`` (``%s`` placeholders) as a prepared statement of this
        connection: ``PREPARE`` is sent with the first ``EXECUTE``, in the same round trip.
        After any error the connection's statements are forgotten and prepared afresh under
        new names (one that failed may or may not exist on the server)."""
        conn = self.connection()
        known = getattr(self._state, "prepared", None)
        if known is None or known[0] is not conn:
            known = self._state.prepared = [conn, 0, set()]
        name, text = _prepared_text(self._prepared_texts, sql, len(params), known[1])
        if params:
            execute = f"EXECUTE {name}({', '.join(['%s'] * len(params))})"
        else:
            execute = f"EXECUTE {name}"
        if name in known[2]:
            command = execute
        else:
            command = f"PREPARE {name} AS {text}; {execute}"
            if len(known[2]) >= MAX_PREPARED:  # varied searches: start over
                command = "DEALLOCATE ALL; " + command
                known[2] = set()
            known[2].add(name)
        try:
            return super().execute_sql(command, params)
        except Exception:
            known[1] += 1
            known[2] = set()
            raise


MAX_PREPARED = 500  # statements kept prepared per connection
MAX_PREPARED_TEXTS = 10_000  # converted statement texts kept per database object


def _prepared_text(texts: dict, sql, count, generation) -> tuple[str, str]:
    """``(statement name, text with $1..$n)`` of a ``%s``-placeholder statement; ``texts``
    (the database's) keeps the conversions."""
    key = (sql, count)
    found = texts.get(key)
    if found is None:
        pieces = sql.split("%%")
        number = 0
        converted = []
        for piece in pieces:
            parts = piece.split("%s")
            text = parts[0]
            for part in parts[1:]:
                number += 1
                text += f"${number}{part}"
            converted.append(text)
        if number != count:
            raise ValueError(f"{count} parameters for {number} placeholders in {sql!r}")
        # psycopg2 formats the whole command: a literal % stays doubled.
        text = "%%".join(converted)
        digest = hashlib.blake2b(sql.encode(), digest_size=8).hexdigest()
        if len(texts) > MAX_PREPARED_TEXTS:
            texts.clear()
        found = texts[key] = (digest, text)
    return f"k{generation}_{found[0]}", found[1]


def is_postgres(db) -> bool:
    return isinstance(db, peewee.PostgresqlDatabase)


def database_from_url(url: str, busy_timeout_ms: int = 10000):
    """Open (lazily) the database a ``sqlite:///`` or ``postgresql://`` URL names."""
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return KontoraSqliteDatabase(path, busy_timeout_ms=busy_timeout_ms)
    if url.startswith(("postgresql://", "postgres://")):
        parsed = urlparse(url)
        kwargs = {}
        if parsed.hostname:
            kwargs["host"] = parsed.hostname
        if parsed.port:
            kwargs["port"] = parsed.port
        if parsed.username:
            kwargs["user"] = unquote(parsed.username)
        if parsed.password:
            kwargs["password"] = unquote(parsed.password)
        name = parsed.path.lstrip("/")
        if not name:
            raise ConfigError(f"database.url: no database name in {url!r}")
        return KontoraPostgresqlDatabase(name, autorollback=False, **kwargs)
    raise ConfigError(f"database.url: expected sqlite:/// or postgresql://, got {url!r}")


def table_names(db) -> set[str]:
    return set(db.get_tables())
