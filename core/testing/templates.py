"""Installed databases built once per test run and copied for each test.

Installing addons costs from a quarter of a second (``base``) to several seconds (a business
addon with its demo data), and most tests start from the same few installed states. The
first test that asks for a state installs it into a template database; every test after it
gets a copy: SQLite copies the template's file, PostgreSQL creates the test's database with
``CREATE DATABASE ... TEMPLATE``. The copy is byte for byte what the install wrote, ids,
sequences and timestamps included.

A template is keyed by everything that decides what an install writes: the kind of
database, the addons asked for, the demo flag, the addons paths, a fingerprint of every
discovered addon's files (names, sizes, modification times: an addon edited during the run
gets a new template) and the configuration, less the keys that only say where to connect
(`CONNECTION_KEYS`). Only a database that is still empty is filled from a template, only
with the immediate job backend (an install that queues jobs for a real queue must queue
them again) and not while hook calls are traced (``KONTORA_TRACE_HOOKS``: the trace is of
the install's calls). Anything else, and an install that fails, installs as usual.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import uuid
from pathlib import Path

from core.modules.loading import load_registry
from core.modules.manager import AddonManager
from core.orm.registry import Registry
from core.testing.databases import (
    PgPool,
    new_pg_name,
    pg_connect,
    pg_drop,
    pg_name,
    pg_url,
    sqlite_path,
)

# Settings that say where to reach a service, not what an install writes.
CONNECTION_KEYS = frozenset(
    {
        "database.url",
        "database.busy_timeout_ms",
        "jobs.sqlite_path",
        "jobs.redis_url",
        "jobs.workers",
        "log.level",
        "mail.smtp_host",
        "mail.smtp_port",
        "mail.smtp_user",
        "mail.smtp_password",
        "mail.smtp_security",
        "mail.smtp_timeout",
        "server.host",
        "server.port",
        "server.workers",
    }
)

_active: list[AddonTemplates] = []  # the run's templates, set by the pytest plugin


def active_templates() -> AddonTemplates | None:
    """The templates of the running test session (per xdist worker), if any."""
    return _active[-1] if _active else None


def addons_fingerprint(addons) -> str:
    """A hash of every addon's files: name, size and modification time."""
    digest = hashlib.sha256()
    for name in sorted(addons):
        root = Path(addons[name].path)
        digest.update(f"{name}\0{root}\0".encode())
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for file_name in sorted(files):
                path = os.path.join(folder, file_name)
                try:
                    stat = os.stat(path)
                except OSError:
                    continue
                digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def template_key(manager, names, demo) -> str:
    """What decides the database an install of ``names`` writes (see the module docstring)."""
    config = manager.config
    settings = {k: v for k, v in config.as_dict().items() if k not in CONNECTION_KEYS}
    kind = "sqlite" if config.database_url.startswith("sqlite") else "postgresql"
    return json.dumps(
        [
            kind,
            sorted(set(names)),
            bool(demo),
            [str(p) for p in config.addons_paths],
            addons_fingerprint(manager.addons),
            sorted(settings.items()),
        ],
        default=str,
    )


class AddonTemplates:
    """The installed states built so far in this process: key → template database URL."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.urls: dict[str, str | None] = {}  # None: that install fails, do not try again
        self.built = 0
        self.restored = 0
        self.pool = PgPool()
        self._admin = None

    # -- use ------------------------------------------------------------------------------
    def restore(self, manager, names, demo=False) -> Registry | None:
        """Fill ``manager``'s empty database with ``names`` installed; None when it cannot."""
        config = manager.config
        if config["jobs.backend"] != "immediate" or os.environ.get("KONTORA_TRACE_HOOKS"):
            return None  # a real queue must get the install's jobs; a trace, its hook calls
        if not self._is_empty(manager):
            return None
        key = template_key(manager, names, demo)
        if key not in self.urls:
            self.urls[key] = self._build(config, names, demo)
        template = self.urls[key]
        if template is None:
            return None
        if not manager.db.is_closed():
            manager.db.close()
        url = config.database_url
        if url.startswith("sqlite"):
            shutil.copyfile(sqlite_path(template), sqlite_path(url))
        else:
            self._restore_pg(pg_name(template), pg_name(url))
        self.restored += 1
        return load_registry(config, manager.db)

    def _restore_pg(self, template, target):
        """``target`` (empty) becomes a copy of ``template``: a copy made in the background
        is renamed to its name, or else one is made now."""
        cur = self.admin().cursor()
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (target,),
        )
        spare = self.pool.take(template)
        if spare:
            empty = new_pg_name()
            cur.execute(f'ALTER DATABASE "{target}" RENAME TO "{empty}"')
            cur.execute(f'ALTER DATABASE "{spare}" RENAME TO "{target}"')
            self.pool.give(None, empty)
        else:
            pg_drop(cur, target)
            cur.execute(f'CREATE DATABASE "{target}" TEMPLATE "{template}"')
        self.pool.keep(template, 1)

    @staticmethod
    def _is_empty(manager) -> bool:
        url = manager.config.database_url
        if url.startswith("sqlite"):
            path = sqlite_path(url)
            return str(path) != ":memory:" and (not path.exists() or path.stat().st_size == 0)
        try:
            return not manager.db.get_tables()
        finally:
            manager.db.close()

    # -- building -----------------------------------------------------------------------------
    def _build(self, config, names, demo) -> str | None:
        if config.database_url.startswith("sqlite"):
            url = f"sqlite:///{self.folder / ('template-' + uuid.uuid4().hex[:8] + '.sqlite3')}"
        else:
            name = new_pg_name("kontora_template_")
            self.admin().cursor().execute(f'CREATE DATABASE "{name}"')
            url = pg_url(name)
        manager = AddonManager(config.replace(database__url=url))
        try:
            manager.install(list(names), demo=demo)
        except Exception:
            manager.db.close()
            self._drop(url)
            return None
        manager.db.close()
        self._seal(url)
        self.built += 1
        return url

    def _seal(self, url):
        """Leave nothing outside the template's main file, and nobody connected to it."""
        if url.startswith("sqlite"):
            path = sqlite_path(url)
            conn = sqlite3.connect(path)
            try:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                conn.close()
            for suffix in ("-wal", "-shm"):  # the last connection removes them; make sure
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            return
        cur = self.admin().cursor()
        name = pg_name(url)
        # CREATE DATABASE ... TEMPLATE needs a template nobody is connected to.
        cur.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )

    def _drop(self, url):
        if url.startswith("sqlite"):
            for suffix in ("", "-wal", "-shm"):
                Path(f"{sqlite_path(url)}{suffix}").unlink(missing_ok=True)
        else:
            pg_drop(self.admin().cursor(), pg_name(url))

    def admin(self):
        """One autocommit connection to the PostgreSQL server's ``postgres`` database."""
        if self._admin is None or self._admin.closed:
            self._admin = pg_connect()
        return self._admin

    def close(self):
        """Drop every database made for the run."""
        urls = [url for url in self.urls.values() if url]
        self.pool.close(also=[pg_name(u) for u in urls if not u.startswith("sqlite")])
        for url in urls:
            if url.startswith("sqlite"):
                self._drop(url)
        self.urls.clear()
        if self._admin is not None:
            self._admin.close()
            self._admin = None

    # -- activation by the plugin -----------------------------------------------------------------
    def __enter__(self):
        _active.append(self)
        return self

    def __exit__(self, *exc):
        _active.remove(self)
        self.close()


class TemplateAddonManager(AddonManager):
    """An ``AddonManager`` whose first install on an empty database copies a template."""

    def install(self, names, demo=False) -> Registry:
        templates = active_templates()
        registry = templates.restore(self, list(names), demo) if templates else None
        return registry if registry is not None else super().install(names, demo=demo)
