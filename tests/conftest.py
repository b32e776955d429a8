"""Shared fixtures: a configuration and a registry on a fresh SQLite or PostgreSQL database."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import psycopg2
import pytest

from core.config import load_config
from core.modules.manager import AddonManager

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_ADDONS = ROOT / "tests" / "fixtures" / "addons"
SHIPPED_ADDONS = ROOT / "addons"
PG_ADMIN_URL = os.environ.get("KONTORA_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REQUIRE_PG = os.environ.get("KONTORA_TEST_REQUIRE_PG") == "1"
DB_KINDS = [k for k in os.environ.get("KONTORA_TEST_DBS", "sqlite,postgresql").split(",") if k]


def _pg_connect(dbname="postgres"):
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    conn = psycopg2.connect(f"{base}/{dbname}")
    conn.autocommit = True
    return conn


_PG_STATE = {}


def pg_available() -> bool:
    if "ok" not in _PG_STATE:
        try:
            _pg_connect().close()
            _PG_STATE["ok"] = True
        except psycopg2.Error as exc:
            _PG_STATE["ok"] = False
            _PG_STATE["why"] = str(exc).strip()
    return _PG_STATE["ok"]


class Databases:
    """Creates empty test databases of either kind and drops them afterwards."""

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.pg_names = []

    def url(self, kind) -> str:
        if kind == "sqlite":
            return f"sqlite:///{self.tmp_path / ('db-' + uuid.uuid4().hex[:8] + '.sqlite3')}"
        if not pg_available():
            if REQUIRE_PG:
                pytest.fail(
                    f"PostgreSQL is required (KONTORA_TEST_REQUIRE_PG=1) but not reachable: {_PG_STATE.get('why')}"
                )
            pytest.skip("PostgreSQL is not reachable")
        name = "kontora_test_" + uuid.uuid4().hex[:12]
        conn = _pg_connect()
        conn.cursor().execute(f'CREATE DATABASE "{name}"')
        conn.close()
        self.pg_names.append(name)
        return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name

    def drop_all(self):
        if not self.pg_names:
            return
        conn = _pg_connect()
        cur = conn.cursor()
        for name in self.pg_names:
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.close()


@pytest.fixture(params=DB_KINDS)
def db_kind(request):
    return request.param


@pytest.fixture
def databases(tmp_path):
    dbs = Databases(tmp_path)
    yield dbs
    dbs.drop_all()


@pytest.fixture
def make_config(databases, db_kind, tmp_path):
    """``make_config(paths=[...], **overrides)``: a config on a fresh database of this run's kind."""

    def factory(paths=None, url=None, **overrides):
        values = {
            "database.url": url or databases.url(db_kind),
            "addons.paths": [str(p) for p in (paths if paths is not None else [FIXTURE_ADDONS])],
            "jobs.backend": "immediate",
            "jobs.sqlite_path": str(tmp_path / "jobs.sqlite3"),
        }
        values.update({k.replace("__", "."): v for k, v in overrides.items()})
        return load_config(environ={}, overrides=values)

    return factory


@pytest.fixture
def config(make_config):
    return make_config()


@pytest.fixture
def manager(config):
    mgr = AddonManager(config)
    yield mgr
    if not mgr.db.is_closed():
        mgr.db.close()


@pytest.fixture
def install(manager):
    """``install("fx_base", ...)``: install fixture addons, return the registry."""

    def do(*names, demo=False):
        return manager.install(list(names), demo=demo)

    return do


@pytest.fixture
def registry(install):
    """A registry with only ``base`` installed."""
    return install()


@pytest.fixture
def env(registry):
    """A superuser environment on the registry (each ORM call commits on its own)."""
    return registry.env(su=True)
