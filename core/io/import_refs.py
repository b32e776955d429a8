"""External ids and records an import refers to, looked up and recorded in plain SQL.

An import may name tens of thousands of external ids; building a peewee expression with
hundreds of parameters per chunk costs more than the query itself, so these few queries
are written out, with PostgreSQL getting one array parameter instead of a list.
"""

from __future__ import annotations

import peewee

from core.db.connection import is_postgres
from core.io.import_values import ImportFileError
from core.orm.support import utcnow

CHUNK = 500


def _in(db, column, values) -> tuple[str, tuple]:
    """``column IN (...)`` (SQLite) or ``column = ANY(array)`` (PostgreSQL) and its params."""
    if is_postgres(db):
        return f"{column} = ANY(%s)", (list(values),)
    return f"{column} IN ({', '.join('?' * len(values))})", tuple(values)


def xmlid_rows(env, keys) -> dict:
    """``{(module, name): (model, res_id)}`` for those of ``keys`` that exist."""
    db = env.db
    by_module: dict = {}
    for module, name in keys:
        by_module.setdefault(module, []).append(name)
    found = {}
    for module, names in by_module.items():
        for start in range(0, len(names), CHUNK):
            where, params = _in(db, "name", names[start : start + CHUNK])
            cursor = db.execute_sql(
                "SELECT name, model, res_id FROM ir_model_data "
                f"WHERE module = {db.param} AND {where}",
                (module, *params),
            )
            for name, model, res_id in cursor.fetchall():
                found[(module, name)] = (model, res_id)
    return found


def module_has_xmlids(env, module) -> bool:
    db = env.db
    cursor = db.execute_sql(
        f"SELECT 1 FROM ir_model_data WHERE module = {db.param} LIMIT 1", (module,)
    )
    return cursor.fetchone() is not None


def existing_ids(env, model, ids) -> set:
    """Which of ``ids`` still exist (an external id may outlive its record)."""
    db, table = env.db, model._table._meta.table_name
    found = set()
    for start in range(0, len(ids), CHUNK):
        where, params = _in(db, "id", ids[start : start + CHUNK])
        cursor = db.execute_sql(f'SELECT id FROM "{table}" WHERE {where}', params)
        found.update(row[0] for row in cursor.fetchall())
    return found


def register_xmlids(env, model_name, rows):
    """Record ``(module, name, res_id)`` external ids of new records in one statement.

    Plain SQL rather than ``create()``: ``ir.model.data`` has no computed fields, hooks or
    constraints beyond its unique index, and this halves the cost of an import with an
    ``id`` column on PostgreSQL.
    """
    db, now, uid = env.db, utcnow(), env.uid
    columns = "module, name, model, res_id, noupdate, create_date, write_date, "
    columns += "create_uid, write_uid"
    try:
        if is_postgres(db):
            db.execute_sql(
                f"INSERT INTO ir_model_data ({columns}) SELECT m, n, %s, r, false, %s, %s, "
                "%s, %s FROM unnest(%s::text[], %s::text[], %s::bigint[]) AS t(m, n, r)",
                (model_name, now, now, uid, uid, *(list(c) for c in zip(*rows, strict=True))),
            )
        else:
            db.cursor().executemany(
                f"INSERT INTO ir_model_data ({columns}) VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?)",
                [(m, n, model_name, r, now, now, uid, uid) for m, n, r in rows],
            )
    except peewee.IntegrityError:
        raise ImportFileError(
            "Another import created some of these external ids at the same time; "
            "import the file again."
        ) from None


def drop_xmlids(env, keys):
    """Forget external ids whose records were deleted, so that new records can take them."""
    data = env.registry.tables["ir.model.data"]
    for module, name in keys:
        data.delete().where((data.module == module) & (data.name == name)).execute()
