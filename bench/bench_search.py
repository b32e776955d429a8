"""Search, count and grouping on 100k leads and 1k partners (SQLite and PostgreSQL).

The data is created through the ORM (one batch per model); every query is then timed
``--runs`` times in one read transaction and the median is reported in milliseconds.

    python bench/bench_search.py [--rows 100000] [--partners 1000] [--runs 50] [--db sqlite|postgresql|all]
"""

from __future__ import annotations

import argparse
import time

import common

from core.db.connection import is_postgres

TERM = "0042"  # matches partners "Partner 00042" and "Partner 00420" to "Partner 00429"


def populate(registry, rows, partners):
    start = time.perf_counter()
    with registry.transaction() as env:
        partner_ids = env["bench.partner"].create(common.partner_vals(partners)).ids
        env["bench.lead"].create(common.lead_vals(rows, partner_ids))
    seconds = time.perf_counter() - start
    if is_postgres(registry.db):
        registry.db.execute_sql("ANALYZE")
    return seconds


def measure(func, runs):
    """(median ms, min ms, last result) of ``runs`` calls after one warm-up call."""
    result = func()  # warm up: statement caches, the partner table in memory
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return common.median(times) * 1000, min(times) * 1000, result


def size(result):
    return result if isinstance(result, int) else len(result)


def run(kind, rows, partners, runs):
    with common.bench_database(kind) as (_config, registry):
        populate_seconds = populate(registry, rows, partners)
        with registry.transaction(write=False) as env:
            Lead = env["bench.lead"]
            domain = [("partner_id.name", "ilike", TERM)]
            queries = {
                "search_m2o_ilike_limit80": lambda: Lead.search(domain, limit=80),
                "search_count_m2o_ilike": lambda: Lead.search_count(domain),
                "search_count_all": lambda: Lead.search_count([]),
                "read_group_stage_sum": lambda: Lead.read_group(
                    [], ["stage"], ["expected_revenue:sum"]
                ),
            }
            for name, func in queries.items():
                median_ms, min_ms, result = measure(func, runs)
                common.emit(
                    name,
                    db=kind,
                    rows=rows,
                    partners=partners,
                    runs=runs,
                    ms=median_ms,
                    min_ms=min_ms,
                    result_size=size(result),
                    populate_seconds=populate_seconds,
                )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--partners", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "all"), default="all")
    args = parser.parse_args(argv)
    for kind in common.database_kinds(args.db, "search"):
        run(kind, args.rows, args.partners, args.runs)


if __name__ == "__main__":
    main()
