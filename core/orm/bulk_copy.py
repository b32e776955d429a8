"""Large creates on PostgreSQL: ids reserved from the table's sequence, rows sent by ``COPY``.

``COPY ... FROM STDIN`` parses rows several times faster than a multi-row ``INSERT`` (no
statement text to parse per page, no ``RETURNING``). The ORM asks :func:`copy_rows` to
insert a batch once it has converted the values; every value is written in PostgreSQL's
text format exactly as the column's input function reads it. A value this module cannot
write with certainty (an unexpected Python type, a string holding a NUL character, a
datetime with a time zone) makes :func:`copy_rows` return ``None`` before anything is sent,
and the caller inserts the batch with ``INSERT`` as before.
"""

from __future__ import annotations

import datetime
import io
from decimal import Decimal
from types import MappingProxyType

from core.orm.support import INTEGRITY_ERRORS

# Batches of at least this many rows go through COPY. Measured on a local server, COPY
# (with its extra round trip for the ids) is as fast as INSERT at 10 rows and faster from
# 25; 100 leaves room for a server a millisecond away.
COPY_THRESHOLD = 100
COPY_CHUNK = 20_000  # rows formatted and sent per COPY statement (bounds the text in memory)

_NONE = type(None)
_NULL = "\\N"


class _NotCopyable(Exception):
    """A value the text format would not carry exactly as INSERT does."""


def _text(values):
    types = set(map(type, values))
    if not types <= {str, _NONE}:
        raise _NotCopyable
    has_null = _NONE in types
    strings = ["" if v is None else v for v in values] if has_null else values
    joined = "\x00".join(strings)
    if joined.count("\x00") != len(strings) - 1:  # PostgreSQL text cannot hold NUL
        raise _NotCopyable
    if "\\" in joined:
        joined = joined.replace("\\", "\\\\")
    if "\t" in joined:
        joined = joined.replace("\t", "\\t")
    if "\n" in joined:
        joined = joined.replace("\n", "\\n")
    if "\r" in joined:
        joined = joined.replace("\r", "\\r")
    escaped = joined.split("\x00")
    if has_null:
        return [_NULL if v is None else e for v, e in zip(values, escaped, strict=True)]
    return escaped


def _by_str(allowed):
    allowed = frozenset(allowed) | {_NONE}

    def format_(values):
        types = set(map(type, values))
        if not types <= allowed:
            raise _NotCopyable
        if _NONE in types:
            return [_NULL if v is None else str(v) for v in values]
        return list(map(str, values))

    return format_


def _float(values):
    types = set(map(type, values))
    if not types <= {float, int, _NONE}:
        raise _NotCopyable
    out = [_NULL if v is None else str(v) for v in values]
    # str() of a float is its shortest exact repr; PostgreSQL reads inf, -inf and nan too,
    # but spell them the way psycopg2 sends them.
    if float in types and not _FLOAT_SPECIAL.keys().isdisjoint(out):
        return [_FLOAT_SPECIAL.get(s, s) for s in out]
    return out


_FLOAT_SPECIAL = MappingProxyType({"inf": "Infinity", "-inf": "-Infinity", "nan": "NaN"})


def _boolean(values):
    types = set(map(type, values))
    if not types <= {bool, _NONE}:
        raise _NotCopyable
    return [_NULL if v is None else ("t" if v else "f") for v in values]


def _datetime(values):
    types = set(map(type, values))
    if not types <= {datetime.datetime, _NONE}:
        raise _NotCopyable
    # Naive UTC is what the ORM stores; an aware value would be converted by the session's
    # time zone on INSERT, so leave it to INSERT.
    if any(v is not None and v.tzinfo is not None for v in values):
        raise _NotCopyable
    return [_NULL if v is None else str(v) for v in values]


_FORMATTERS = MappingProxyType(
    {
        "char": _text,
        "text": _text,
        "selection": _text,
        "json": _text,  # the column adapter already made JSON text
        "integer": _by_str({int}),
        "many2one": _by_str({int}),
        "float": _float,
        "monetary": _by_str({Decimal, int, float}),
        "boolean": _boolean,
        "date": _by_str({datetime.date}),
        "datetime": _datetime,
    }
)


def _format_column(kind, values):
    formatter = _FORMATTERS.get(kind)
    if formatter is None:
        raise _NotCopyable
    return formatter(values)


def copy_rows(model, cursor, names, value_lists, count, constants=()) -> list[int] | None:
    """Insert ``count`` rows (``value_lists[i]`` holds column ``names[i]`` of every row,
    already adapted for the database) and return their ids in row order, or ``None`` when
    some value cannot go through COPY (nothing was sent then). Columns named in
    ``constants`` hold one value repeated, which is formatted once."""
    table = model._table._meta
    fields_ = model._fields
    kinds = [fields_[name].type for name in names]
    chunks = []
    try:
        once = {
            name: _format_column(kind, values[:1])[0]
            for name, kind, values in zip(names, kinds, value_lists, strict=True)
            if name in constants
        }
        for start in range(0, count, COPY_CHUNK):
            size = min(COPY_CHUNK, count - start)
            columns = [
                [once[name]] * size
                if name in once
                else _format_column(kind, values[start : start + size])
                for name, kind, values in zip(names, kinds, value_lists, strict=True)
            ]
            chunks.append(columns)
    except _NotCopyable:
        return None
    tname = table.table_name
    ids = _reserve_ids(cursor, tname, count)
    col_sql = ", ".join(['"id"'] + [f'"{table.fields[n].column_name}"' for n in names])
    sql = f'COPY "{tname}" ({col_sql}) FROM STDIN'
    offset = 0
    for columns in chunks:
        size = len(columns[0])
        id_column = list(map(str, ids[offset : offset + size]))
        offset += size
        text = "\n".join(map("\t".join, zip(id_column, *columns, strict=True))) + "\n"
        try:
            cursor.copy_expert(sql, io.StringIO(text), size=1 << 20)
        except INTEGRITY_ERRORS as exc:
            raise model._translate_integrity_error(_WithoutCopyContext(exc)) from None
    return ids


# The sequence is looked up once (an InitPlan), not per row as a joined subquery would be.
_RESERVE_SQL = (
    "SELECT min(v), max(v), CASE WHEN max(v) - min(v) + 1 = count(*) THEN NULL "
    "ELSE array_agg(v) END FROM (SELECT nextval((SELECT pg_get_serial_sequence(%s, 'id')"
    "::regclass)) AS v FROM generate_series(1, %s)) t"
)


def _reserve_ids(cursor, table_name, count) -> list[int]:
    """``count`` new ids from the sequence of the table's ``id`` column, ascending.

    ``nextval`` is called once per row, so the numbers are the table's own and a rollback
    loses them exactly as it loses an INSERT's. Other sessions may take numbers in between;
    then they are not consecutive and come back as an array (else only the bounds travel).
    """
    cursor.execute(_RESERVE_SQL, ('"' + table_name.replace('"', '""') + '"', count))
    low, high, scattered = cursor.fetchone()
    return sorted(scattered) if scattered is not None else list(range(low, high + 1))


class _WithoutCopyContext:
    """An integrity error as INSERT would have reported it: without the ``CONTEXT: COPY
    ..., line N: ...`` part (which would also repeat the row's values)."""

    def __init__(self, exc):
        self._exc = exc

    def __getattr__(self, name):
        return getattr(self._exc, name)

    def __str__(self):
        text = str(self._exc)
        cut = text.find("\nCONTEXT:  COPY ")
        return text if cut < 0 else text[: cut + 1]


__all__ = ["COPY_THRESHOLD", "copy_rows"]
