"""Helpers for the addon-lifecycle and CLI tests: database dumps and upgraded addon copies."""

from __future__ import annotations

import shutil
from pathlib import Path

from core.db.connection import database_from_url

FIXTURE_ADDONS = Path(__file__).resolve().parent / "fixtures" / "addons"

# fx_migrate 1.1: a new column, a new model and new data values.
MODELS_V11 = """
from core import fields
from core import Model


class Thing(Model):
    _name = "fx.thing"
    _description = "Fixture thing"

    name = fields.Char("Name", required=True)
    code = fields.Char("Code")
    extra = fields.Char("Extra")


class ThingLog(Model):
    _name = "fx.thing.log"
    _description = "Fixture thing log"

    thing_id = fields.Many2one("fx.thing", "Thing", ondelete="cascade")
    message = fields.Char("Message")


MODELS = [Thing, ThingLog]
"""

DATA_V11 = """
[[records]]
model = "fx.thing"
id = "thing_alpha"
values = { name = "Alpha v2", code = "a" }

[[records]]
model = "fx.thing"
id = "thing_kept"
noupdate = true
values = { name = "Kept v2", code = "k" }

[[records]]
model = "fx.thing"
id = "thing_beta"
values = { name = "Beta", code = "b" }
"""

MIGRATION_OK = """
def pre_migrate(env, installed_version):
    # Before the schema sync: plain SQL on the old tables.
    env.db.execute_sql("UPDATE fx_thing SET code = UPPER(code)")


def migrate(env, installed_version):
    env.invalidate_all()
    for thing in env["fx.thing"].search([]):
        thing.extra = f"migrated from {installed_version}: {thing.code}"
        env["fx.thing.log"].create({"thing_id": thing.id, "message": "migrated"})
"""

MIGRATION_FAILS = """
def pre_migrate(env, installed_version):
    env.db.execute_sql("UPDATE fx_thing SET code = UPPER(code)")


def migrate(env, installed_version):
    for thing in env["fx.thing"].search([]):
        thing.write({"name": "half-migrated", "extra": "x"})
    env["fx.thing"].create({"name": "created by a failing migration"})
    raise ValueError("thing codes cannot be converted:\\n  'A' and 'K' are taken")
"""


def bumped_fx_migrate(root: Path, migration: str = MIGRATION_OK, version: str = "1.1") -> Path:
    """A copy of fx_migrate under ``root`` with ``version`` and ``migrations/<version>.py``.

    Returns the addons folder to put first in ``addons.paths``.
    """
    dest = root / "fx_migrate"
    shutil.copytree(FIXTURE_ADDONS / "fx_migrate", dest)
    manifest = dest / "manifest.toml"
    manifest.write_text(manifest.read_text().replace('version = "1.0"', f'version = "{version}"'))
    (dest / "models.py").write_text(MODELS_V11)
    (dest / "data" / "fx_migrate.toml").write_text(DATA_V11)
    (dest / "migrations").mkdir()
    (dest / "migrations" / f"{version}.py").write_text(migration)
    return root


def dump(url: str) -> dict:
    """Every table's columns, indexes and rows, read over a fresh connection."""
    db = database_from_url(url)
    db.connect()
    try:
        result = {}
        for table in sorted(db.get_tables()):
            if table == "sqlite_sequence":
                continue
            columns = [c.name for c in db.get_columns(table)]
            indexes = sorted(i.name for i in db.get_indexes(table))
            rows = db.execute_sql(f'SELECT * FROM "{table}"').fetchall()
            result[table] = {
                "columns": columns,
                "indexes": indexes,
                "rows": sorted((tuple(r) for r in rows), key=repr),
            }
        return result
    finally:
        db.close()


def rows(url: str, sql: str, params=()) -> list[tuple]:
    db = database_from_url(url)
    db.connect()
    try:
        return [tuple(r) for r in db.execute_sql(sql, params).fetchall()]
    finally:
        db.close()


def sqlite_path(url: str) -> Path | None:
    return Path(url[len("sqlite:///") :]) if url.startswith("sqlite:///") else None
