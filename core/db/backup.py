"""Database backups: SQLite's online backup API, pg_dump/pg_restore for PostgreSQL."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlparse, urlunparse

from core.exceptions import KontoraError

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


def _check_sqlite(source: Path):
    """Refuse a damaged backup before the database is touched."""
    try:
        conn = sqlite3.connect(Path(source).resolve().as_uri() + "?mode=ro", uri=True)
        try:
            result = conn.execute("PRAGMA quick_check").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise KontoraError(f"{source} is not a readable SQLite backup: {exc}") from None
    if not result or result[0] != "ok":
        raise KontoraError(
            f"{source} is a damaged SQLite backup: {result[0] if result else 'no answer'}"
        )


def _pg_url_and_env(url):
    """The URL without its password, and an environment carrying it in PGPASSWORD,
    so that the password never shows in the process list."""
    parsed = urlparse(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = unquote(parsed.password)
        netloc = parsed.netloc.rsplit("@", 1)
        user = netloc[0].split(":", 1)[0]
        parsed = parsed._replace(netloc=f"{user}@{netloc[1]}")
    return urlunparse(parsed), env


def _pg_args(url):
    return ["--dbname", _pg_url_and_env(url)[0]]


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
    tmp = target.with_suffix(target.suffix + ".part")
    result = subprocess.run(
        ["pg_dump", "--format=custom", "--file", str(tmp), *_pg_args(url)],
        env=_pg_url_and_env(url)[1],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise KontoraError(f"pg_dump failed: {_first_error(result.stderr, result.returncode)}")
    tmp.replace(target)
    return target


def restore(config, file, progress=None):
    """Replace the configured database with the backup in ``file``."""
    url = config.database_url
    source = Path(file)
    if url.startswith("sqlite:///"):
        with open(source, "rb") as fh:
            if fh.read(16) != SQLITE_MAGIC:
                raise KontoraError(f"{file} is not a SQLite backup")
        _check_sqlite(source)
        target = _sqlite_path(url)
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        try:
            _copy_sqlite(str(source), target, progress)
        except sqlite3.Error as exc:
            raise KontoraError(
                f"restore from {file} failed, the database is unchanged: {exc}"
            ) from None
        return
    _restore_postgres(url, source)


# Drops every table, view and sequence of the current schema: tables created after the backup
# (an addon installed since) must go too, or their foreign keys block the restore.
_DROP_ALL = """
SET lock_timeout = '60s';
DO $$
DECLARE r record;
BEGIN
  FOR r IN
    SELECT format('DROP %s IF EXISTS %I.%I CASCADE',
                  CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                                 WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
                  n.nspname, c.relname) AS stmt
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
    ORDER BY c.relkind
  LOOP
    EXECUTE r.stmt;
  END LOOP;
END $$;
"""


def _first_error(stderr: str, fallback) -> str:
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    for line in lines:
        if "ERROR:" in line or "error:" in line:
            return line
    return lines[-1] if lines else str(fallback)


def _restore_postgres(url, source: Path):
    """Replace the database's tables with the backup's, in one transaction.

    The archive is turned into SQL first, so a damaged file is refused before the database
    is touched; psql then drops the current tables and loads the backup in one transaction.
    """
    for tool in ("pg_restore", "psql"):
        if not shutil.which(tool):
            raise KontoraError(f"{tool} is not installed (Debian package postgresql-client)")
    with open(source, "rb") as fh:
        if fh.read(5) != b"PGDMP":
            raise KontoraError(f"{source} is not a PostgreSQL backup (pg_dump custom format)")
    with tempfile.TemporaryDirectory(prefix="kontora-restore-") as tmp:
        script = Path(tmp) / "restore.sql"
        result = subprocess.run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--file",
                str(script),
                str(source),
            ],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise KontoraError(
                f"pg_restore cannot read {source}: {_first_error(result.stderr, result.returncode)}"
            )
        result = subprocess.run(
            [
                "psql",
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "--single-transaction",
                "--dbname",
                _pg_url_and_env(url)[0],
                "-c",
                _DROP_ALL,
                "-f",
                str(script),
            ],
            capture_output=True,
            text=True,
            env=_pg_url_and_env(url)[1],
        )
    if result.returncode != 0:
        raise KontoraError(
            f"restore failed, the database is unchanged: {_first_error(result.stderr, result.returncode)}"
        )
