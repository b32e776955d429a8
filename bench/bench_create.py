"""Batch create: ``env["bench.lead"].create(100k dicts)`` against raw ``executemany``.

The ORM side converts the values, applies defaults, precomputes the stored computed field
``weighted_revenue``, inserts and fills the cache, all in one ``registry.transaction()``.
The raw side inserts the very same column values (prepared beforehand) into an identical
table (same DDL, indexes and foreign keys, copied from the ORM database) in a separate
SQLite file with the same pragmas, in one transaction. ``ratio_vs_raw`` is raw / orm.

    python bench/bench_create.py [--rows 100000] [--repeat 3] [--db sqlite|postgresql|all]
"""

from __future__ import annotations

import argparse
import sqlite3
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import common

COLUMNS = [
    "name",
    "email",
    "partner_id",
    "stage",
    "priority",
    "active",
    "expected_revenue",
    "probability",
    "weighted_revenue",
    "create_date",
    "write_date",
    "create_uid",
    "write_uid",
]
DEFAULTS = {"stage": "new", "priority": 1, "active": True}
CENT = Decimal("0.01")
SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "synchronous": "normal",
    "busy_timeout": 10000,
    "cache_size": -32000,
}


def raw_rows(vals_list, now, uid, postgres=False, write_now=None):
    """The column values the ORM stores for ``vals_list``, computed the plain way.

    ``now`` is the creation time as the database returned it for the ORM's rows,
    ``write_now`` their ``write_date`` (to the microsecond; ``now`` when not given).
    """
    write_now = now if write_now is None else write_now
    rows = []
    for vals in vals_list:
        revenue = Decimal(str(vals["expected_revenue"])).quantize(CENT, rounding=ROUND_HALF_UP)
        probability = float(vals["probability"])
        weighted = (revenue * Decimal(repr(probability)) / 100).quantize(
            CENT, rounding=ROUND_HALF_UP
        )
        rows.append(
            (
                vals["name"],
                vals["email"],
                vals["partner_id"],
                vals.get("stage", DEFAULTS["stage"]),
                vals.get("priority", DEFAULTS["priority"]),
                vals.get("active", DEFAULTS["active"]),
                revenue if postgres else str(revenue),
                probability,
                weighted if postgres else str(weighted),
                now,
                write_now,
                uid,
                uid,
            )
        )
    return rows


# -- SQLite ------------------------------------------------------------------------------------------


def sqlite_path(registry) -> str:
    return registry.db.database


def copy_sqlite_schema(source_path: str, target_path: str, partner_rows):
    """The lead and partner tables (DDL, indexes) and the rows they refer to, in a new file."""
    src = sqlite3.connect(source_path)
    statements = src.execute(
        "SELECT type, tbl_name, sql FROM sqlite_master WHERE tbl_name IN ('bench_lead', 'bench_partner', 'res_users') "
        "AND sql IS NOT NULL ORDER BY CASE type WHEN 'table' THEN 0 ELSE 1 END"
    ).fetchall()
    user_ids = [row[0] for row in src.execute("SELECT id FROM res_users")]
    src.close()
    dst = sqlite3.connect(target_path, isolation_level=None)
    for name, value in SQLITE_PRAGMAS.items():
        dst.execute(f"PRAGMA {name} = {value}")
    dst.execute("PRAGMA foreign_keys = 0")
    dst.execute("BEGIN")
    for kind, table, sql in statements:
        if kind == "trigger" and table == "bench_partner":
            continue  # the partners' trigram index: partners are only what leads refer to
        dst.execute(sql)
    dst.executemany("INSERT INTO res_users (id) VALUES (?)", [(i,) for i in user_ids])
    dst.executemany("INSERT INTO bench_partner (id, name) VALUES (?, ?)", partner_rows)
    dst.execute("COMMIT")
    dst.close()


def raw_sqlite_insert(path: str, rows) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    for name, value in SQLITE_PRAGMAS.items():
        conn.execute(f"PRAGMA {name} = {value}")
    sql = f"INSERT INTO bench_lead ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    start = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(sql, rows)
    conn.execute("COMMIT")
    seconds = time.perf_counter() - start
    conn.close()
    return seconds


def table_contents_sqlite(path: str) -> list:
    conn = sqlite3.connect(path)
    rows = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM bench_lead ORDER BY id").fetchall()
    conn.close()
    return rows


# -- PostgreSQL -----------------------------------------------------------------------------------------


def raw_pg_insert(url: str, rows) -> float:
    """execute_values into a copy of the lead table (LIKE ... INCLUDING ALL, same FKs)."""
    import psycopg2
    from psycopg2.extras import execute_values

    conn = psycopg2.connect(url)
    cur = conn.cursor()
    cur.execute("CREATE TABLE raw_lead (LIKE bench_lead INCLUDING ALL)")
    cur.execute(
        "ALTER TABLE raw_lead ADD FOREIGN KEY (partner_id) REFERENCES bench_partner (id) ON DELETE SET NULL, "
        "ADD FOREIGN KEY (create_uid) REFERENCES res_users (id) ON DELETE SET NULL, "
        "ADD FOREIGN KEY (write_uid) REFERENCES res_users (id) ON DELETE SET NULL"
    )
    conn.commit()
    sql = f"INSERT INTO raw_lead ({', '.join(COLUMNS)}) VALUES %s RETURNING id"
    start = time.perf_counter()
    for offset in range(0, len(rows), 5000):
        execute_values(cur, sql, rows[offset : offset + 5000], page_size=1000, fetch=True)
    conn.commit()
    seconds = time.perf_counter() - start
    conn.close()
    return seconds


def table_contents_pg(url: str, table: str) -> list:
    import psycopg2

    conn = psycopg2.connect(url)
    cur = conn.cursor()
    cur.execute(f"SELECT {', '.join(COLUMNS)} FROM {table} ORDER BY id")
    rows = cur.fetchall()
    conn.close()
    return rows


# -- one round ------------------------------------------------------------------------------------------


def setup_partners(registry, count):
    with registry.transaction() as env:
        partners = env["bench.partner"].create(common.partner_vals(count))
        return [(rec.id, rec.name) for rec in partners]


def orm_create(registry, vals_list) -> tuple[float, int]:
    start = time.perf_counter()
    with registry.transaction() as env:
        records = env["bench.lead"].create(vals_list)
        count = len(records)
    return time.perf_counter() - start, count


def one_round(kind: str, rows: int, partners: int, verify: bool) -> dict:
    with common.bench_database(kind) as (_config, registry):
        partner_rows = setup_partners(registry, partners)
        vals_list = common.lead_vals(rows, [p[0] for p in partner_rows])
        orm_seconds, created = orm_create(registry, vals_list)
        assert created == rows
        now, write_now, uid = registry.db.execute_sql(
            "SELECT create_date, write_date, create_uid FROM bench_lead ORDER BY id LIMIT 1"
        ).fetchone()
        if kind == "sqlite":
            prepared = raw_rows(vals_list, now, uid, write_now=write_now)
            raw_path = str(Path(sqlite_path(registry)).with_name("raw.sqlite3"))
            copy_sqlite_schema(sqlite_path(registry), raw_path, partner_rows)
            raw_seconds = raw_sqlite_insert(raw_path, prepared)
            if verify:
                registry.db.close()
                same = table_contents_sqlite(sqlite_path(registry)) == table_contents_sqlite(
                    raw_path
                )
                if not same:
                    raise SystemExit(
                        "bench_create: the ORM and the raw table hold different values"
                    )
        else:
            prepared = raw_rows(vals_list, now, uid, postgres=True, write_now=write_now)
            registry.db.close()
            raw_seconds = raw_pg_insert(registry.config.database_url, prepared)
            if verify and table_contents_pg(registry.config.database_url, "bench_lead") != (
                table_contents_pg(registry.config.database_url, "raw_lead")
            ):
                raise SystemExit("bench_create: the ORM and the raw table hold different values")
    return {"orm": orm_seconds, "raw": raw_seconds}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--partners", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "all"), default="sqlite")
    parser.add_argument("--no-verify", action="store_true", help="skip comparing the two tables")
    args = parser.parse_args(argv)
    for kind in common.database_kinds(args.db, "create"):
        rounds = [
            one_round(kind, args.rows, args.partners, not args.no_verify)
            for _ in range(args.repeat)
        ]
        orm = common.median(r["orm"] for r in rounds)
        raw = common.median(r["raw"] for r in rounds)
        common.emit(
            f"create_{args.rows // 1000}k" if args.rows % 1000 == 0 else f"create_{args.rows}",
            db=kind,
            rows=args.rows,
            fields=8,
            repeat=args.repeat,
            seconds=orm,
            raw_seconds=raw,
            ratio_vs_raw=raw / orm,
            orm_rows_per_s=args.rows / orm,
            raw_rows_per_s=args.rows / raw,
            orm_runs=[round(r["orm"], 4) for r in rounds],
            raw_runs=[round(r["raw"], 4) for r in rounds],
            target_ratio=0.15,
            **common.environment_info(),
        )


if __name__ == "__main__":
    main()
