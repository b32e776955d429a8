"""Trigram indexes of char and text fields (``index="trigram"``) for substring searches.

PostgreSQL: a ``pg_trgm`` GIN index (the extension ships with the server package). SQLite:
a contentless FTS5 table with the ``trigram`` tokenizer over ``ulower(value)`` (Python's
``str.lower()``, the folding ``ilike`` uses, Cyrillic included), kept in step by triggers
on the base table so that no write path can forget it.

A positive ``like``/``ilike`` leaf of three characters or more is compiled either through
the index (rows holding a rare piece of the text, then the whole condition on those) or,
for common text, as the ordered walk of the btree it always was (on SQLite without a Python
call per row). Both forms give the same rows; a sample of the column decides which is
sooner. docs/architecture.md, "substring search through trigram indexes", has the why.
"""

from __future__ import annotations

import functools
import random
import time
from functools import reduce
from operator import or_

from peewee import SQL, Case, NodeList, fn

from core.db.connection import is_postgres

MIN_NEEDLE = 3  # the tokenizer's unit: shorter text has no trigram to look up


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def is_trigram(field) -> bool:
    return field.index == "trigram" and field.stored_column


def index_name(table: str, column: str) -> str:
    """The PostgreSQL index, or the SQLite FTS5 table, of ``table.column``."""
    return f"{table}__{column}_trgm"


# -- DDL ------------------------------------------------------------------------------------
def sync(registry) -> list[str]:
    """Create the trigram indexes the registry declares (filled from existing rows) and
    drop those of fields that no longer ask for one; indexes of tables and columns that
    are gone are dropped with them (``drop_for_tables``, ``drop_for_column``)."""
    db = registry.db
    wanted, known = {}, set()
    for cls in registry.models.values():
        if cls._abstract:
            continue
        table = cls._table._meta.table_name
        for field in cls._fields.values():
            if field.stored_column:
                known.add(index_name(table, field.name))
            if is_trigram(field):
                wanted[index_name(table, field.name)] = (table, field.name)
    existing = _existing(db)
    created = []
    if wanted and is_postgres(db) and set(wanted) - existing:
        db.execute_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, (table, column) in wanted.items():
        if name not in existing:
            _create(db, table, column)
            created.append(name)
    for name in (existing & known) - set(wanted):
        _drop(db, name)  # the field stays but no longer asks for the index
    return created


def _existing(db) -> set[str]:
    if is_postgres(db):
        cursor = db.execute_sql(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
            "AND indexname LIKE %s",
            ("%\\_\\_%\\_trgm",),
        )
    else:
        cursor = db.execute_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE ? ESCAPE '\\' "
            "AND sql LIKE 'CREATE VIRTUAL TABLE%'",
            ("%\\_\\_%\\_trgm",),
        )
    return {row[0] for row in cursor.fetchall()}


def _create(db, table, column):
    name = index_name(table, column)
    if is_postgres(db):
        # On lower(column), not the column: pg_trgm's operator class also serves ``=``
        # (since PostgreSQL 14), and the planner then took the GIN index for ``IN`` lookups
        # of whole values, reading the posting lists of their common trigrams (the
        # duplicate check of 2 000 partners went from 0.08 s to 24 s). The queries of
        # like_expression name lower(column); lower-casing changes no trigram (pg_trgm
        # folds case itself) and ``lower(a) LIKE lower(b)`` is how ILIKE is defined.
        db.execute_sql(
            f"CREATE INDEX IF NOT EXISTS {q(name)} ON {q(table)} "
            f"USING gin (lower({q(column)}) gin_trgm_ops)"
        )
        return
    # Contentless (the base table holds the text) and case-sensitive over the lower-cased
    # value: a phrase then matches exactly where ``ulower(value)`` contains it.
    db.execute_sql(
        f"CREATE VIRTUAL TABLE {q(name)} USING fts5(value, content='', columnsize=0, "
        "tokenize='trigram case_sensitive 1')"
    )
    new, old = f"new.{q(column)}", f"old.{q(column)}"
    insert = f"INSERT INTO {q(name)} (rowid, value) SELECT new.id, ulower({new}) WHERE {new} IS NOT NULL;"
    delete = (
        f"INSERT INTO {q(name)} ({q(name)}, rowid, value) "
        f"SELECT 'delete', old.id, ulower({old}) WHERE {old} IS NOT NULL;"
    )
    db.execute_sql(
        f"CREATE TRIGGER {q(name + '_ai')} AFTER INSERT ON {q(table)} BEGIN {insert} END"
    )
    db.execute_sql(
        f"CREATE TRIGGER {q(name + '_ad')} AFTER DELETE ON {q(table)} BEGIN {delete} END"
    )
    db.execute_sql(
        f"CREATE TRIGGER {q(name + '_au')} AFTER UPDATE OF {q(column)} ON {q(table)} "
        f"WHEN {old} IS NOT {new} BEGIN {delete} {insert} END"
    )
    db.execute_sql(
        f"INSERT INTO {q(name)} (rowid, value) SELECT id, ulower({q(column)}) FROM {q(table)} "
        f"WHERE {q(column)} IS NOT NULL"
    )


def _drop(db, name):
    if is_postgres(db):
        db.execute_sql(f"DROP INDEX IF EXISTS {q(name)}")
        return
    for suffix in ("_ai", "_ad", "_au"):
        db.execute_sql(f"DROP TRIGGER IF EXISTS {q(name + suffix)}")
    db.execute_sql(f"DROP TABLE IF EXISTS {q(name)}")


def drop_for_column(db, table, column):
    """Before a column is dropped (SQLite refuses while triggers name it)."""
    if index_name(table, column) in _existing(db):
        _drop(db, index_name(table, column))


def drop_for_tables(db, tables):
    """Before tables are dropped: their FTS tables go too (triggers go with the table)."""
    prefixes = tuple(f"{t}__" for t in tables)
    for name in _existing(db):
        if name.startswith(prefixes):
            _drop(db, name)


def has_triggers(model) -> bool:
    """Whether writes to the model's table fire FTS5 triggers (SQLite, a trigram field).

    FTS5 writes its pending entries out at every statement a trigger runs in, so a row per
    statement (``executemany``) costs far more than many rows in one statement."""
    return not is_postgres(model._table._meta.database) and any(
        is_trigram(field) for field in model._fields.values()
    )


# -- queries --------------------------------------------------------------------------------
def like_expression(query, table, field, operator, pattern, expression):
    """``expression`` (the plain LIKE of a positive leaf) narrowed through the trigram index
    when that gives the same rows sooner; else ``expression``, on SQLite made native.

    ``pattern`` is the LIKE pattern as bound (lower-cased for ``ilike`` on SQLite, where the
    column side is ``ulower(column)``). The index only pre-selects rows that contain a piece
    of the pattern (the driver); the full condition stays in the WHERE, so the result is the
    one the plain scan gives in every case (wildcards, ``like``'s case rules, NULLs)."""
    if not is_trigram(field) or not query.env.context.get("trigram_index", True):
        return expression  # benchmarks and tests compare with the path without the index
    column = getattr(table, field.name)
    case_sensitive = operator in ("like", "=like")
    check = expression
    if not query.postgres and not case_sensitive:
        check = _native_ilike(column, pattern, expression)
    if (case_sensitive or query.postgres) and any(char in pattern for char in SPECIAL):
        # Lower-casing Σ depends on its neighbours (and İ becomes two characters under
        # full case mapping), so a lowered piece of the text might not be a piece of the
        # lowered value: the index could miss the row.
        return check
    needles = [n for n in literal_runs(pattern) if len(n) >= MIN_NEEDLE]
    if not needles:
        return check
    stats = _sample(query.model, field)
    choice = stats.driver(needles)
    if choice is None:
        return check
    driver, estimate = choice
    if estimate > max(DIRECT_ROWS, 4 * PAGE / stats.fraction(needles)):
        return check  # common text: walking the btree in order finds a page sooner
    if query.postgres:
        # The GIN index is on lower(column) (see _create), and only the driver reaches it
        # (its rare trigrams); the whole pattern is checked on the rows it finds, through an
        # expression no index matches. That check stays even when the driver is the whole
        # text: its unknown selectivity keeps the planner's estimate low, so it does not
        # walk the btree instead (an estimate from the histogram sent 'Жёлудь' on a walk of
        # 900 000 rows).
        keyword = "LIKE" if case_sensitive else "ILIKE"
        escaped = driver.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        narrow = NodeList(
            (fn.lower(column), SQL("LIKE"), fn.lower(f"%{escaped}%"), SQL("ESCAPE '\\'"))
        )
        hidden = NodeList((column.concat(""), SQL(keyword), pattern, SQL("ESCAPE '\\'")))
        return narrow & hidden
    fts = index_name(query.model._table._meta.table_name, field.name)
    match = '"' + driver.lower().replace('"', '""') + '"'
    candidates = SQL(f"(SELECT rowid FROM {q(fts)} WHERE {q(fts)} MATCH ?)", [match])
    narrow = NodeList((table.id, SQL("IN"), candidates))
    if operator == "ilike" and needles == [driver] and len(pattern) == len(driver) + 2:
        # The phrase is the whole text searched for, over the same lower-cased values:
        # the index's answer is exact, no row needs checking again.
        return narrow
    return narrow & check


# ``str.lower()`` of these depends on more than the character itself (İ becomes two
# characters, Σ a final or a medial sigma): values holding one are checked with ``ulower``.
SPECIAL = "İΣ"
# The only characters beyond ASCII that ``str.lower()`` turns into ASCII letters.
INTO_ASCII = "İ\u212a"


def _native_ilike(column, pattern, expression):
    """``ulower(column) LIKE pattern`` without a Python call per row, for the rows that
    need none: SQLite's LIKE already folds ASCII, so an ASCII pattern is matched by LIKE
    itself; other patterns by a GLOB whose classes hold every character that lower-cases to
    the pattern's one (``[жЖ]``). Values with a character either way cannot serve (see
    SPECIAL, INTO_ASCII) keep ``expression``."""
    if pattern.isascii():
        native = NodeList((column, SQL("LIKE"), pattern, SQL("ESCAPE '\\'")))
        odd = INTO_ASCII
    else:
        glob = like_to_glob(pattern)
        if glob is None:
            return expression
        native = NodeList((column, SQL("GLOB"), glob))
        odd = SPECIAL
    holds_odd = reduce(or_, [fn.instr(column, char) > 0 for char in odd])
    return Case(None, [(holds_odd, expression)], native)


def like_to_glob(pattern: str) -> str | None:
    """The GLOB matching what ``ulower(value) LIKE pattern ESCAPE '\\'`` matches, for values
    without SPECIAL characters (``pattern`` is lower-cased); None when there is none."""
    if "\x00" in pattern:
        return None
    parts, index = [], 0
    while index < len(pattern):
        char = pattern[index]
        index += 1
        if char == "%":
            parts.append("*")
            continue
        if char == "_":
            parts.append("?")
            continue
        if char == "\\":
            if index == len(pattern):
                return None
            char = pattern[index]
            index += 1
        members = ([char] if char.lower() == char else []) + _lowering_to().get(char, [])
        members = [m for m in members if m not in SPECIAL]
        if not members:
            return None
        if len(members) == 1:
            parts.append(f"[{char}]" if char in "*?[" else members[0])
        else:
            parts.append("[" + "".join(members) + "]")
    return "".join(parts)


@functools.cache
def _lowering_to() -> dict[str, list[str]]:
    """Lower-case character -> the other characters ``str.lower()`` turns into it (cased
    letters all lie below U+20000)."""
    result: dict[str, list[str]] = {}
    for code in range(0x20000):
        if 0xD800 <= code < 0xE000:
            continue
        char = chr(code)
        lowered = char.lower()
        if lowered != char and len(lowered) == 1:
            result.setdefault(lowered, []).append(char)
    return result


DIRECT_ROWS = 2000  # at most this many candidates: always through the index
PAGE = 80  # the list page the walk has to fill
SAMPLE_ROWS = 2000
SAMPLE_SECONDS = 300
COMMON_SHARE = 0.02  # a trigram in more sampled rows than this does not join the driver


class Sample:
    """Lower-cased values of a column from rows picked at random, to guess how many rows
    contain a piece of text: which piece drives the index, and whether a walk pays more."""

    def __init__(self, values, rows):
        self.values = values
        self.rows = rows
        self.taken = time.monotonic()
        self.by_trigram: dict[str, list[int]] = {}
        for index, value in enumerate(values):
            for gram in {value[i : i + 3] for i in range(len(value) - 2)}:
                self.by_trigram.setdefault(gram, []).append(index)

    def _holders(self, text: str):
        grams = [text[i : i + 3] for i in range(len(text) - 2)]
        return min((self.by_trigram.get(g, ()) for g in grams), key=len)

    def _count(self, text: str) -> int:
        holders = self._holders(text)
        return len(holders) if len(text) == 3 else sum(text in self.values[i] for i in holders)

    def fraction(self, needles) -> float:
        """The share of rows that hold every needle (at least one sample row's worth)."""
        if not self.values:
            return 1.0
        found = min(self._count(n.lower()) for n in needles)
        return max(found, 1) / len(self.values)

    def driver(self, needles):
        """``(piece, estimated rows)``: the part of a needle to look up in the index. It
        starts at the needle's rarest trigram in the sample and grows over neighbouring
        trigrams that are not common (each one more narrows the rows, and a common one
        would cost the index more to read than it saves); a longer piece wins a tie."""
        best = None
        limit = COMMON_SHARE * len(self.values)
        for needle in needles:
            text = needle.lower()
            if len(text) != len(needle):
                continue  # a character lower-cased into two: positions would not line up
            counts = [len(self.by_trigram.get(text[i : i + 3], ())) for i in range(len(text) - 2)]
            if not counts:
                continue
            first = last = min(range(len(counts)), key=counts.__getitem__)
            while True:
                sides = [i for i in (first - 1, last + 1) if 0 <= i < len(counts)]
                sides = [i for i in sides if counts[i] <= limit]
                if not sides:
                    break
                step = min(sides, key=counts.__getitem__)
                first, last = min(first, step), max(last, step)
            piece = needle[first : last + 3]
            count = self._count(piece.lower())
            if best is None or (count, -len(piece)) < (best[1], -len(best[0])):
                best = (piece, count)
        if best is None:
            return None
        scale = self.rows / len(self.values) if self.values else 0.0
        return best[0], best[1] * scale


def _sample(model, field) -> Sample:
    """The column's sample, taken again after ``SAMPLE_SECONDS`` (kept on the registry)."""
    samples = model.env.registry.caches.setdefault("db.trigram_samples", {})
    key = (model._name, field.name)
    sample = samples.get(key)
    if sample is None or time.monotonic() - sample.taken > SAMPLE_SECONDS:
        sample = samples[key] = _take_sample(model._table._meta.database, model, field)
    return sample


def _take_sample(db, model, field) -> Sample:
    table, column = q(model._table._meta.table_name), q(field.name)
    # Two subqueries: each is one step down the primary key (together they would scan).
    low, high = db.execute_sql(
        f"SELECT (SELECT min(id) FROM {table}), (SELECT max(id) FROM {table})"
    ).fetchone()
    if low is None:
        return Sample([], 0)
    span = high - low + 1
    ids = sorted(random.Random().sample(range(low, high + 1), min(SAMPLE_ROWS, span)))
    marks = ", ".join([db.param] * len(ids))
    values = [
        row[0]
        for row in db.execute_sql(
            f"SELECT {column} FROM {table} WHERE id IN ({marks})", ids
        ).fetchall()
    ]
    rows = span * len(values) / len(ids)
    return Sample(
        [v.lower() for v in values if isinstance(v, str)]
        + [""] * sum(not isinstance(v, str) for v in values),
        rows,
    )


def literal_runs(pattern: str) -> list[str]:
    """The literal text between the wildcards of a LIKE pattern (escape ``\\``): every
    value the pattern matches contains each of them."""
    runs, current, index = [], [], 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            if index + 1 == len(pattern):
                break
            current.append(pattern[index + 1])
            index += 2
            continue
        if char in "%_":
            runs.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    runs.append("".join(current))
    return [r for r in runs if r]
