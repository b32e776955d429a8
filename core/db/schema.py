"""Schema sync: tables, columns and indexes from the registry; drops only on uninstall."""

from __future__ import annotations

from types import MappingProxyType

from core.db import trigram
from core.db.connection import is_postgres

_SQLITE_TYPES = MappingProxyType(
    {
        "char": "TEXT",
        "text": "TEXT",
        "selection": "TEXT",
        "json": "TEXT",
        "integer": "INTEGER",
        "many2one": "INTEGER",
        "float": "REAL",
        "monetary": "NUMERIC",
        "boolean": "BOOLEAN",
        "date": "DATE",
        "datetime": "DATETIME",
        "binary": "BLOB",
    }
)
_PG_TYPES = MappingProxyType(
    {
        "char": "VARCHAR",
        "text": "TEXT",
        "selection": "VARCHAR",
        "json": "TEXT",
        "integer": "BIGINT",
        "many2one": "BIGINT",
        "float": "DOUBLE PRECISION",
        "monetary": "NUMERIC",
        "boolean": "BOOLEAN",
        "date": "DATE",
        "datetime": "TIMESTAMP",
        "binary": "BYTEA",
    }
)


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _table_name(cls) -> str:
    return cls._table._meta.table_name


def has_db_fk(registry, cls, field) -> bool:
    """Whether the database enforces this many2one (else the ORM applies ``ondelete``).

    SQLite cannot drop a column that carries a foreign key, so there only the fields the
    model's own addon declares get one; fields other addons or administrators add are kept
    by the ORM, and can be dropped when their addon is uninstalled.
    """
    if field.type != "many2one" or not field.store:
        return False
    if is_postgres(registry.db):
        return True
    return not field.manual and field.addon in (cls._addon, "base")


def column_sql(registry, cls, field) -> str:
    postgres = is_postgres(registry.db)
    sql_type = (_PG_TYPES if postgres else _SQLITE_TYPES)[field.type]
    if field.type == "monetary":
        sql_type = f"NUMERIC(20, {field.digits})" if postgres else "NUMERIC"
    definition = f"{q(field.name)} {sql_type}"
    if field.type == "many2one" and has_db_fk(registry, cls, field) and not postgres:
        comodel = registry.models[field.comodel_name]
        definition += (
            f" REFERENCES {q(_table_name(comodel))} (id) ON DELETE {field.ondelete.upper()}"
        )
    return definition


def _fk_constraint_sql(registry, cls, field) -> str:
    comodel = registry.models[field.comodel_name]
    table = _table_name(cls)
    return (
        f"ALTER TABLE {q(table)} ADD CONSTRAINT {q(f'{table}_{field.name}_fkey')} FOREIGN KEY ({q(field.name)}) "
        f"REFERENCES {q(_table_name(comodel))} (id) ON DELETE {field.ondelete.upper()}"
    )


def existing_columns(db, table) -> set[str]:
    return {column.name for column in db.get_columns(table)}


def _wants_index(field) -> bool:
    if field.name in ("create_uid", "write_uid"):
        return False
    if field.index == "trigram":
        # A char field also gets a btree, which an ordered walk of common patterns uses;
        # text may exceed what a btree entry holds.
        return field.type == "char"
    return bool(field.index) or (field.type == "many2one" and field.store)


def index_statements(cls, fields=None) -> list[str]:
    table = _table_name(cls)
    statements = []
    for field in fields if fields is not None else cls._fields.values():
        if field.stored_column and field.name != "id" and _wants_index(field):
            statements.append(
                f"CREATE INDEX IF NOT EXISTS {q(f'{table}__{field.name}_index')} ON {q(table)} ({q(field.name)})"
            )
    if fields is None:
        for name, definition, _message in cls._sql_constraints:
            inside = definition[definition.index("(") + 1 : definition.rindex(")")]
            columns = ", ".join(q(c.strip()) for c in inside.split(","))
            statements.append(
                f"CREATE UNIQUE INDEX IF NOT EXISTS {q(f'{table}_{name}')} ON {q(table)} ({columns})"
            )
    return statements


def sync_schema(registry) -> dict:
    """Create missing tables, columns, indexes and link tables. Never drops anything."""
    db = registry.db
    postgres = is_postgres(db)
    existing = set(db.get_tables())
    created, added = [], []
    fk_statements = []
    for name, cls in registry.models.items():
        if cls._abstract:
            continue
        table = _table_name(cls)
        columns = [f for f in cls._fields.values() if f.stored_column and f.name != "id"]
        if table not in existing:
            pk = "id BIGSERIAL PRIMARY KEY" if postgres else "id INTEGER PRIMARY KEY AUTOINCREMENT"
            body = ",\n  ".join([pk] + [column_sql(registry, cls, f) for f in columns])
            db.execute_sql(f"CREATE TABLE {q(table)} (\n  {body}\n)")
            created.append(name)
            new_fields = columns
        else:
            have = existing_columns(db, table)
            new_fields = [f for f in columns if f.name not in have]
            for field in new_fields:
                db.execute_sql(
                    f"ALTER TABLE {q(table)} ADD COLUMN {column_sql(registry, cls, field)}"
                )
                added.append(f"{name}.{field.name}")
        if postgres:
            fk_statements.extend(
                _fk_constraint_sql(registry, cls, f)
                for f in new_fields
                if has_db_fk(registry, cls, f)
            )
    for statement in fk_statements:
        db.execute_sql(statement)
    for _key, rel in registry.relation_tables.items():
        _create_relation_table(registry, rel, existing)
    for cls in registry.models.values():
        if not cls._abstract:
            for statement in index_statements(cls):
                db.execute_sql(statement)
    trigram.sync(registry)
    return {"created": created, "added": added}


def _create_relation_table(registry, rel, existing):
    table = rel._meta.table_name
    if table in existing:
        return
    existing.add(table)
    db = registry.db
    int_type = "BIGINT" if is_postgres(db) else "INTEGER"
    parts = []
    names = []
    for field in rel._meta.sorted_fields:
        target = field.rel_model._meta.table_name
        names.append(field.column_name)
        parts.append(
            f"{q(field.column_name)} {int_type} NOT NULL REFERENCES {q(target)} (id) ON DELETE CASCADE"
        )
    parts.append(f"PRIMARY KEY ({q(names[0])}, {q(names[1])})")
    db.execute_sql(f"CREATE TABLE {q(table)} ({', '.join(parts)})")
    db.execute_sql(
        f"CREATE INDEX IF NOT EXISTS {q(table + '__' + names[1] + '_index')} ON {q(table)} ({q(names[1])})"
    )


def add_custom_column(registry, cls, field):
    """A custom field's column, now, inside the caller's transaction."""
    table = _table_name(cls)
    if field.name in existing_columns(registry.db, table):
        return
    registry.db.execute_sql(f"ALTER TABLE {q(table)} ADD COLUMN {column_sql(registry, cls, field)}")
    if has_db_fk(registry, cls, field):
        registry.db.execute_sql(_fk_constraint_sql(registry, cls, field))
    for statement in index_statements(cls, [field]):
        registry.db.execute_sql(statement)


def drop_column(registry, cls, field):
    """Drop one column (and its indexes) of a table that stays."""
    db = registry.db
    table = _table_name(cls)
    if field.name not in existing_columns(db, table):
        return
    trigram.drop_for_column(db, table, field.name)
    if not is_postgres(db):
        for index in db.get_indexes(table):
            if field.name in index.columns:
                db.execute_sql(f"DROP INDEX IF EXISTS {q(index.name)}")
    db.execute_sql(f"ALTER TABLE {q(table)} DROP COLUMN {q(field.name)}")


def drop_tables(registry, tables: list[str]):
    """Drop tables, those that reference others first (SQLite applies ON DELETE on drop)."""
    db = registry.db
    present = set(db.get_tables())
    remaining = [t for t in tables if t in present]
    trigram.drop_for_tables(db, remaining)
    if is_postgres(db):
        for table in remaining:
            db.execute_sql(f"DROP TABLE IF EXISTS {q(table)} CASCADE")
        return
    db.execute_sql("PRAGMA defer_foreign_keys = ON")
    while remaining:
        referenced = {
            fk.dest_table for t in remaining for fk in db.get_foreign_keys(t) if fk.dest_table != t
        }
        leaves = [t for t in remaining if t not in referenced] or remaining[:1]
        for table in leaves:
            db.execute_sql(f"DROP TABLE IF EXISTS {q(table)}")
            remaining.remove(table)
