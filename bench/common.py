"""Shared helpers of the benchmarks: fresh databases with bench_models, data, JSON output.

Every benchmark prints one JSON object per measurement on its own line, e.g.
``{"bench": "create_100k", "db": "sqlite", "seconds": 1.2, ...}``.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_ADDONS = Path(__file__).resolve().parent / "addons"
SHIPPED_ADDONS = ROOT / "addons"
PG_ADMIN_URL = os.environ.get("KONTORA_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.config import load_config  # noqa: E402
from core.modules.manager import AddonManager  # noqa: E402

STAGES = ["new", "qualified", "proposal", "won", "lost"]


def emit(bench: str, **values) -> dict:
    """Print one measurement as a JSON line (and return it)."""
    record = {"bench": bench, **values}
    for key, value in record.items():
        if isinstance(value, float):
            record[key] = round(value, 6)
    print(json.dumps(record, ensure_ascii=False), flush=True)
    return record


def environment_info() -> dict:
    import sqlite3

    return {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}


def median(values) -> float:
    return statistics.median(values)


def timed(func, *args, **kwargs):
    """``(seconds, result)`` of one call."""
    start = time.perf_counter()
    result = func(*args, **kwargs)
    return time.perf_counter() - start, result


def make_config(url: str, paths=None, tmpdir: str | Path | None = None):
    values = {
        "database.url": url,
        "addons.paths": [str(p) for p in (paths if paths is not None else [BENCH_ADDONS])],
        "jobs.backend": "immediate",
    }
    if tmpdir is not None:
        values["jobs.sqlite_path"] = str(Path(tmpdir) / "jobs.sqlite3")
    return load_config(environ={}, overrides=values)


def sqlite_url(tmpdir: str | Path, name: str = "bench") -> str:
    return f"sqlite:///{Path(tmpdir) / (name + '.sqlite3')}"


@contextlib.contextmanager
def temp_dir():
    with tempfile.TemporaryDirectory(prefix="kontora-bench-") as path:
        yield Path(path)


def pg_available() -> bool:
    try:
        import psycopg2

        psycopg2.connect(PG_ADMIN_URL, connect_timeout=3).close()
        return True
    except Exception:
        return False


@contextlib.contextmanager
def pg_database():
    """A throwaway PostgreSQL database (its URL), dropped afterwards."""
    import psycopg2

    name = "kontora_bench_" + uuid.uuid4().hex[:10]
    admin = psycopg2.connect(PG_ADMIN_URL)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        cur = admin.cursor()
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


@contextlib.contextmanager
def bench_database(kind: str = "sqlite"):
    """``(config, registry)`` on a fresh database with base + bench_models installed."""
    with temp_dir() as tmpdir:
        if kind == "sqlite":
            url_cm = contextlib.nullcontext(sqlite_url(tmpdir))
        elif kind == "postgresql":
            url_cm = pg_database()
        else:
            raise ValueError(f"unknown database kind {kind!r}")
        with url_cm as url:
            config = make_config(url, tmpdir=tmpdir)
            manager = AddonManager(config)
            registry = manager.install(["bench_models"])
            try:
                yield config, registry
            finally:
                if not registry.db.is_closed():
                    registry.db.close()


def database_kinds(db: str, bench: str):
    """The kinds ``--db`` names (sqlite, postgresql or all); an unreachable PostgreSQL is
    reported as a skipped measurement instead of run."""
    for kind in ["sqlite", "postgresql"] if db == "all" else [db]:
        if kind == "postgresql" and not pg_available():
            emit(bench, db=kind, skipped="PostgreSQL is not reachable")
            continue
        yield kind


def partner_vals(count: int) -> list[dict]:
    return [{"name": f"Partner {i:05d}"} for i in range(count)]


def lead_vals(count: int, partner_ids, seed: int = 42) -> list[dict]:
    """Deterministic lead dicts: 8 fields, some left to their defaults.

    Every third lead leaves ``stage``, ``priority`` and ``active`` to their defaults.
    """
    rnd = random.Random(seed)
    partner_ids = list(partner_ids)
    result = []
    for i in range(count):
        vals = {
            "name": f"Lead {i:06d}",
            "email": f"lead{i}@example.com",
            "partner_id": partner_ids[i % len(partner_ids)] if i % 10 else None,
            "expected_revenue": round(rnd.uniform(100, 100_000), 2),
            "probability": float(rnd.choice((0, 10, 25, 33.3, 50, 75, 90, 100))),
        }
        if i % 3:
            vals["stage"] = STAGES[i % len(STAGES)]
            vals["priority"] = i % 4
            vals["active"] = bool(i % 7)
        result.append(vals)
    return result
