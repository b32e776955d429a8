"""Database backups: SQLite's online backup API, pg_dump/pg_restore for PostgreSQL."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from .exceptions import KontoraError

SQLITE_MAGIC = b"SQLite format 3\x00"


def _sqlite_path(url):
    return url[len("sqlite:///") :]


def _copy_sqlite(source: str, target: str, progress=None):
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        total = {"started": False}

        def report(status, remaining, pages):
            if progress is None:
                return
            if not total["started"]:
                progress.start("Copying", pages)
                total["started"] = True
            progress.advance(pages - remaining - getattr(report, "done", 0))
            report.done = pages - remaining

        src.backup(dst, pages=256, progress=report)
    finally:
        dst.close()
        src.close()
        if progress:
            progress.finish()


def _pg_args(url):
    return ["--dbname", url]


def backup(config, file, progress=None):
    """Write a consistent copy of the configured database to ``file``."""
    url = config.database_url
    target = Path(file)
    if target.exists() and target.is_dir():
        raise KontoraError(f"{file} is a folder; name a file")
    target.parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("sqlite:///"):
        source = _sqlite_path(url)
        if not Path(source).exists():
            raise KontoraError(f"no database at {source}")
        tmp = target.with_suffix(target.suffix + ".part")
        tmp.unlink(missing_ok=True)
        _copy_sqlite(source, str(tmp), progress)
        tmp.replace(target)
        return target
    if not shutil.which("pg_dump"):
        raise KontoraError("pg_dump is not installed (Debian package postgresql-client)")
    result = subprocess.run(["pg_dump", "--format=custom", "--file", str(target), *_pg_args(url)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise KontoraError(f"pg_dump failed: {result.stderr.strip().splitlines()[-1] if result.stderr else result.returncode}")
    return target


def restore(config, file, progress=None):
    """Replace the configured database with the backup in ``file``."""
    url = config.database_url
    source = Path(file)
    if url.startswith("sqlite:///"):
        with open(source, "rb") as fh:
            if fh.read(16) != SQLITE_MAGIC:
                raise KontoraError(f"{file} is not a SQLite backup")
        target = _sqlite_path(url)
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        _copy_sqlite(str(source), target, progress)
        return
    if not shutil.which("pg_restore"):
        raise KontoraError("pg_restore is not installed (Debian package postgresql-client)")
    result = subprocess.run(
        ["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", *_pg_args(url), str(source)],
        capture_output=True, text=True,
    )
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        raise KontoraError(f"pg_restore failed: {lines[-1] if lines else result.returncode}")
