"""Trigram indexes (``index="trigram"``): built on install and upgrade, kept in step by every
write path, dropped on uninstall, and searches through them give exactly the rows and the
order of the plain scan (``fx.trgm.item.plain`` holds the same text without an index)."""

from __future__ import annotations

import shutil

import pytest

from core.db import trigram
from core.db.connection import is_postgres
from core.modules.manager import AddonManager
from core.orm import fields
from tests.conftest import FIXTURE_ADDONS

MODEL = "fx.trgm.item"
TABLE = "fx_trgm_item"

VALUES = [
    "ЁЛКА Ромашка",
    "ёлка зелёная",
    "Ёж и ЁЖИК",
    "ООО «Ромашка»",
    "Partner 0042",
    "partner 00420",
    "PARTNER 4200",
    "a%b_c\\d",
    "100% sure",
    "snake_case_name",
    "back\\slash",
    "it's",
    'say "hi"',
    "KELVIN \u212a and k",
    "İstanbul",
    "ΟΔΟΣ ΣΟΦΙΑ",
    "οδος",
    "Straße",
    "ǅemal",
    None,
    "",
    "abc",
    "ab",
    "a",
    "  spaced  ",
    "🙂 smile",
    "x[y]*z?",
    "Ромашка-2 ромашка",
]
PATTERNS = [
    "ёл",
    "ЁЛК",
    "ёлка",
    "ромаш",
    "РОМАШКА",
    "ё",
    "Ё",
    "%",
    "_",
    "\\",
    "%b_",
    "0%",
    "_c",
    "e_n",
    "'s",
    '"hi"',
    "kelvin",
    "\u212a and",
    "k",
    "ist",
    "İst",
    "i\u0307st",
    "σοφ",
    "ΟΣ",
    "ος",
    "ς σ",
    "strasse",
    "straß",
    "ǆem",
    "ǅEM",
    "abc",
    "ab",
    "a",
    "zzz",
    "🙂 s",
    "spaced  ",
    "partner 004",
    "PARTNER 00",
    "[y]*",
    "y]*z?",
    "«ромашка»",
]
RAW_PATTERNS = ["%ром%", "ёл_а%", "a\\%b%", "%0042", "partner%", "%ка", "%a%b%c%", "ab", "%\\\\%"]


@pytest.fixture
def items(install):
    registry = install("fx_trigram")
    with registry.transaction() as env:
        env[MODEL].create([{"name": v, "plain": v} for v in VALUES])
    return registry


def found(env, field, operator, value, limit=None, **context):
    model = env[MODEL].with_context(**context) if context else env[MODEL]
    return model.search([(field, operator, value)], order=f"{field}, id", limit=limit).ids


def assert_same_as_plain(env, operators=("ilike", "like"), patterns=PATTERNS, field="plain"):
    """The indexed search finds what the plain column (or the same one searched without
    the index, ``field="name"``) finds, in the same order."""
    for operator in operators:
        for pattern in patterns:
            for limit in (None, 3):
                indexed = found(env, "name", operator, pattern, limit)
                plain = found(env, field, operator, pattern, limit, trigram_index=False)
                assert indexed == plain, (operator, pattern, limit)


def sql_of(registry, func):
    statements = []
    original = registry.db.execute_sql

    def spy(sql, params=None, *args, **kwargs):
        statements.append(sql)
        return original(sql, params, *args, **kwargs)

    registry.db.execute_sql = spy
    try:
        func()
    finally:
        registry.db.execute_sql = original
    return "\n".join(statements)


def trigram_objects(db) -> set[str]:
    if is_postgres(db):
        cursor = db.execute_sql(
            "SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexname LIKE %s",
            (TABLE, "%\\_trgm"),
        )
    else:
        cursor = db.execute_sql(
            "SELECT name FROM sqlite_master WHERE name LIKE ? AND type IN ('table', 'trigger')",
            (f"{TABLE}%trgm%",),
        )
    return {row[0] for row in cursor.fetchall()}


def test_install_creates_the_trigram_index_and_a_btree_for_char_fields(items):
    db = items.db
    objects = trigram_objects(db)
    if is_postgres(db):
        assert objects == {f"{TABLE}__name_trgm", f"{TABLE}__note_trgm"}
        definition = db.execute_sql(
            "SELECT indexdef FROM pg_indexes WHERE indexname = %s", (f"{TABLE}__name_trgm",)
        ).fetchone()[0]
        assert "gin" in definition and "gin_trgm_ops" in definition
    else:
        for column in ("name", "note"):
            base = f"{TABLE}__{column}_trgm"
            assert {base, base + "_ai", base + "_ad", base + "_au"} <= objects
    indexes = {index.name for index in db.get_indexes(TABLE)}
    assert f"{TABLE}__name_index" in indexes  # the ordered walk of common patterns
    assert f"{TABLE}__note_index" not in indexes  # long text: no btree


def test_ilike_and_like_through_the_index_match_the_plain_scan(items):
    with items.transaction() as env:
        assert_same_as_plain(env)
        # A raw pattern ending with the escape character is an error on PostgreSQL.
        raw = RAW_PATTERNS + [p for p in PATTERNS if not p.endswith("\\")]
        assert_same_as_plain(env, ("=ilike", "=like"), raw)
        assert_same_as_plain(env, ("not ilike", "not like"), ["ромаш", "partner", "ab"])


def test_common_text_takes_the_walk_and_still_matches_the_plain_scan(items, monkeypatch):
    """Patterns the sample calls common keep the btree walk (on SQLite with LIKE or GLOB
    instead of a Python call per row): the same rows all the same."""
    monkeypatch.setattr(trigram.Sample, "driver", lambda self, needles: ("x", 1e12))
    with items.transaction() as env:
        assert_same_as_plain(env)
        assert_same_as_plain(env, ("=ilike", "=like"), RAW_PATTERNS)
        sql = sql_of(items, lambda: found(env, "name", "ilike", "ромашка"))
        assert "MATCH" not in sql and "ILIKE %s AND" not in sql


def test_whole_patterns_as_index_lookups_match_the_plain_scan(items, monkeypatch):
    """When the piece looked up is the whole text (rare text on a large table), SQLite
    answers ``ilike`` from the FTS table alone: still the plain scan's rows."""
    monkeypatch.setattr(trigram.Sample, "driver", lambda self, needles: (needles[0], 0))
    with items.transaction() as env:
        assert_same_as_plain(env)
        assert_same_as_plain(env, ("=ilike", "=like"), RAW_PATTERNS)
        sql = sql_of(items, lambda: found(env, "name", "ilike", "ромашка"))
        if not is_postgres(items.db):
            assert "MATCH" in sql and "GLOB" not in sql


def test_long_patterns_use_the_index_and_short_ones_do_not(items):
    with items.transaction() as env:
        long_sql = sql_of(items, lambda: found(env, "name", "ilike", "ромашка", 80))
        short_sql = sql_of(items, lambda: found(env, "name", "ilike", "ро", 80))
        if is_postgres(items.db):
            assert '("t1"."name" || %s) ILIKE' in long_sql
            assert "||" not in short_sql
        else:
            assert f'"{TABLE}__name_trgm" MATCH' in long_sql
            assert "MATCH" not in short_sql


def test_name_search_goes_through_the_index(items):
    with items.transaction() as env:
        for text in ("ромаш", "ЁЛК", "partner 00", "zzz", "ab"):
            got = env[MODEL].name_search(text, limit=80)
            plain = env[MODEL].search([("plain", "ilike", text)], limit=80).ids
            assert [i for i, _name in got] == plain, text


def test_the_index_follows_create_write_unlink_and_rollbacks(items):
    with items.transaction() as env:
        records = env[MODEL].create(
            [{"name": "Василёк первый"}, {"name": "ВАСИЛЁК второй"}, {"name": None}]
        )
        assert found(env, "name", "ilike", "василёк") == records[:2].ids[::-1]
        records[0].name = "Лютик"
        records[2].name = "василёк третий"
        assert found(env, "name", "ilike", "василёк") == [records[1].id, records[2].id]
        assert found(env, "name", "ilike", "лютик") == [records[0].id]
        records[1].unlink()
        records[2].name = None
        assert found(env, "name", "ilike", "василёк") == []
    with pytest.raises(RuntimeError), items.transaction() as env:
        env[MODEL].create({"name": "Одуванчик"})
        env[MODEL].search([("name", "ilike", "лютик")]).name = "Фиалка"
        assert found(env, "name", "ilike", "одуванчик")
        raise RuntimeError("roll back")
    with items.transaction() as env:
        assert found(env, "name", "ilike", "одуванчик") == []
        assert found(env, "name", "ilike", "фиалка") == []
        assert len(found(env, "name", "ilike", "лютик")) == 1
        assert_same_as_plain(env, ("ilike",), ["василёк", "лютик", "ромаш"], field="name")


def test_large_creates_and_raw_inserts_are_indexed(items):
    """150 rows go through COPY on PostgreSQL; a raw INSERT through the SQLite triggers."""
    with items.transaction() as env:
        env[MODEL].create(
            [{"name": f"Гвоздика {i:03d}", "plain": f"Гвоздика {i:03d}"} for i in range(150)]
        )
        env.db.execute_sql(
            f"INSERT INTO {TABLE} (name, plain, active) VALUES ('Гвоздика сырая', 'Гвоздика сырая', TRUE)"
        )
        assert len(found(env, "name", "ilike", "гвоздика")) == 151
        assert_same_as_plain(env, ("ilike", "like"), ["гвоздика 1", "ГВОЗДИКА 14", "сырая"])


def write_fx_trigram(root, version, with_index):
    """A copy of fx_trigram under ``root`` at ``version``, with or without the index."""
    dest = root / "fx_trigram"
    shutil.copytree(FIXTURE_ADDONS / "fx_trigram", dest)
    manifest = dest / "manifest.toml"
    manifest.write_text(manifest.read_text().replace('version = "1.1"', f'version = "{version}"'))
    if not with_index:
        models = dest / "models.py"
        models.write_text(models.read_text().replace(', index="trigram"', ""))
    return root


def test_upgrade_builds_the_index_over_existing_rows(make_config, tmp_path):
    old = write_fx_trigram(tmp_path / "old", "1.0", with_index=False)
    config = make_config(paths=[old, FIXTURE_ADDONS])
    registry = AddonManager(config).install(["fx_trigram"])
    with registry.transaction() as env:
        env[MODEL].create([{"name": v, "plain": v} for v in VALUES])
    assert trigram_objects(registry.db) == set()
    registry.db.close()

    manager = AddonManager(make_config(paths=[FIXTURE_ADDONS], url=config.database_url))
    assert [a.name for a in manager.plan_upgrade()] == ["fx_trigram"]
    upgraded = manager.upgrade()
    assert f"{TABLE}__name_trgm" in trigram_objects(upgraded.db)
    with upgraded.transaction() as env:
        sql = sql_of(upgraded, lambda: found(env, "name", "ilike", "ромаш"))
        assert ("||" if is_postgres(upgraded.db) else "MATCH") in sql
        assert_same_as_plain(env, ("ilike",))


def test_an_index_the_field_no_longer_asks_for_is_dropped_on_upgrade(
    items, config, make_config, tmp_path
):
    items.db.close()
    newer = write_fx_trigram(tmp_path / "newer", "1.2", with_index=False)
    manager = AddonManager(make_config(paths=[newer, FIXTURE_ADDONS], url=config.database_url))
    upgraded = manager.upgrade()
    assert trigram_objects(upgraded.db) == set()
    with upgraded.transaction() as env:
        env[MODEL].create({"name": "после", "plain": "после"})  # no trigger left behind
        assert_same_as_plain(env, ("ilike",), ["ромаш", "после"])


def test_uninstall_drops_the_index_with_the_table(items, manager):
    registry = manager.uninstall(["fx_trigram"])
    assert trigram_objects(registry.db) == set()
    leftovers = [t for t in registry.db.get_tables() if t.startswith(TABLE)]
    assert leftovers == []


def test_trigram_index_is_for_char_and_text_fields():
    with pytest.raises(TypeError, match="char and text"):
        fields.Integer("Number", index="trigram")
    with pytest.raises(TypeError, match="index must be"):
        fields.Char("Name", index="gist")


def test_literal_runs_and_glob_of_like_patterns():
    assert trigram.literal_runs("%ab\\%c_d%") == ["ab%c", "d"]
    assert trigram.literal_runs("\\\\x") == ["\\x"]
    assert trigram.like_to_glob("%ab%") == "*[aA][bB]*"
    assert trigram.like_to_glob("%[*?]_") == "*[[][*][?]]?"
    assert trigram.like_to_glob("k") == "[kK\u212a]"
    assert trigram.like_to_glob("Ab") is None  # no character lower-cases to "A"
