"""Databases: a peewee database from a URL, SQLite tuned for concurrent use."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

import peewee

from .exceptions import ConfigError


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


class KontoraPostgresqlDatabase(peewee.PostgresqlDatabase):
    """PostgreSQL; write transactions are ordinary ones (row locks do the work)."""

    def write_transaction(self):
        return self.atomic()


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
