"""The database layer: transactions opened with their first statement on PostgreSQL, and
prepared statements that survive errors, on both databases."""

from __future__ import annotations

import peewee
import pytest

from core.db.connection import MAX_PREPARED, is_postgres


@pytest.fixture
def db(registry):
    return registry.db


def _count(db, name):
    return db.execute_sql(
        f"SELECT COUNT(*) FROM ir_config_parameter WHERE key = {db.param}", (name,)
    ).fetchone()[0]


def test_a_transaction_holds_from_its_first_statement_to_its_end(registry, db):
    with registry.transaction() as env:
        env["ir.config_parameter"].create({"key": "Kept", "value": "1"})
        if is_postgres(db):
            # One transaction: now() is its start time, the same in every statement.
            first = db.execute_sql("SELECT now()").fetchone()[0]
            assert db.execute_sql("SELECT now()").fetchone()[0] == first
            assert db.execute_sql("SELECT txid_current_if_assigned()").fetchone()[0] is not None
    with pytest.raises(RuntimeError), registry.transaction() as env:
        env["ir.config_parameter"].create({"key": "Rolled back", "value": "1"})
        raise RuntimeError("undo")
    assert _count(db, "Kept") == 1 and _count(db, "Rolled back") == 0


def test_a_raw_cursor_runs_inside_the_transaction(registry, db):
    with pytest.raises(RuntimeError), registry.transaction():
        cursor = db.cursor()  # the transaction's first statement goes through a raw cursor
        cursor.execute(
            f"INSERT INTO ir_config_parameter (key, value) VALUES ({db.param}, {db.param})",
            ("Raw", "1"),
        )
        raise RuntimeError("undo")
    assert _count(db, "Raw") == 0


def test_a_transaction_without_statements_and_an_empty_one_after_it(registry, db):
    with registry.transaction(write=False):
        pass
    with registry.transaction(write=False) as env:
        assert env["ir.config_parameter"].search_count([("key", "=", "Nobody")]) == 0
    assert not db.in_transaction()


def test_prepared_statements_give_the_same_rows_and_survive_errors(registry, db):
    with registry.transaction() as env:
        env["ir.config_parameter"].create([{"key": "Prep A"}, {"key": "Prep %B"}])
    param = db.param
    sql = (
        f"SELECT key FROM ir_config_parameter WHERE key LIKE {param} AND key <> '%%x' ORDER BY key"
    )
    if not is_postgres(db):
        sql = sql.replace("%%", "%")
    for _ in range(3):  # prepared once, executed again
        assert db.execute_prepared(sql, ("Prep%",)).fetchall() == [("Prep %B",), ("Prep A",)]
    failing = f"SELECT 1 / {param}"
    if is_postgres(db):
        failing = f"SELECT 1 / {param}::int"
        with pytest.raises(peewee.DataError), registry.transaction(write=False):
            db.execute_prepared(failing, (0,))
        # Prepared again after the error, under a new name.
        assert db.execute_prepared(failing, (1,)).fetchone()[0] == 1
    assert db.execute_prepared(sql, ("Prep A",)).fetchall() == [("Prep A",)]


@pytest.mark.parametrize("db_kind", ["postgresql"], indirect=True)
def test_a_connection_keeps_a_bounded_number_of_prepared_statements(registry, db):
    for number in range(MAX_PREPARED + 5):
        assert db.execute_prepared(f"SELECT {number} + %s", (1,)).fetchone()[0] == number + 1
    kept = db.execute_sql("SELECT COUNT(*) FROM pg_prepared_statements").fetchone()[0]
    assert 0 < kept <= MAX_PREPARED
