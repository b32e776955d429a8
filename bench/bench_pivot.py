"""Pivot tables, graph data, SVG charts and pivot exports on 100k leads (SQLite and PostgreSQL).

Leads get creation dates spread over two years; each measurement is the median of
``--runs`` calls (after one warm-up) in one read transaction as the superuser, in ms.

    python bench/bench_pivot.py [--rows 100000] [--partners 1000] [--runs 10] [--db sqlite|postgresql|all]
"""

from __future__ import annotations

import argparse
import time

import common

from core.db.connection import is_postgres
from core.reporting import charts
from core.reporting.pivot import graph_data, pivot

MEASURES = ["__count", "expected_revenue:sum", "expected_revenue:avg"]


def populate(registry, rows, partners):
    start = time.perf_counter()
    with registry.transaction() as env:
        partner_ids = env["bench.partner"].create(common.partner_vals(partners)).ids
        env["bench.lead"].create(common.lead_vals(rows, partner_ids))
    # Two years of creation dates, at varied times of day (one UPDATE, not one per row).
    if is_postgres(registry.db):
        registry.db.execute_sql(
            "UPDATE bench_lead SET create_date = timestamp '2025-01-01' "
            "+ mod(id, 730) * interval '1 day' + mod(id, 86400) * interval '1 second'"
        )
        registry.db.execute_sql("ANALYZE")
    else:
        registry.db.execute_sql(
            "UPDATE bench_lead SET create_date = datetime('2025-01-01', "
            "'+' || (id % 730) || ' days', '+' || (id % 86400) || ' seconds')"
        )
    return time.perf_counter() - start


def measure(func, runs):
    result = func()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return common.median(times) * 1000, min(times) * 1000, result


def format_cells(table) -> str:
    """What a page does with every cell: format it as money or a number, in Russian."""
    table.lang = "ru"
    parts = []
    for values in table.cells.values():
        for value, measure in zip(values, table.measures, strict=True):
            parts.append(table.format(value, measure, "RUB"))
    return "".join(parts)


def run(kind, rows, partners, runs):
    with common.bench_database(kind) as (_config, registry):
        populate_seconds = populate(registry, rows, partners)
        with registry.transaction(write=False) as env:
            stage_month = lambda: pivot(  # noqa: E731
                env, "bench.lead", [], ["stage"], ["create_date:month"], MEASURES
            )
            partner_quarter = lambda: pivot(  # noqa: E731
                env, "bench.lead", [], ["partner_id"], ["create_date:quarter"], MEASURES
            )
            weeks = lambda: graph_data(  # noqa: E731
                env, "bench.lead", [], ["create_date:week"], "expected_revenue", "sum"
            )
            big_table = partner_quarter()
            week_data = weeks()
            cases = {
                "pivot_stage_by_month": stage_month,
                "pivot_partner_by_quarter": partner_quarter,
                "graph_data_by_week": weeks,
                "pivot_stage_by_utc_day": lambda: pivot(
                    env, "bench.lead", [], ["stage"], ["create_date:day"], MEASURES
                ),
                "svg_bar_by_week": lambda: week_data.svg("bar", title="Revenue by week"),
                "svg_line_200_points": lambda: charts.line_chart(
                    [f"Day {i}" for i in range(200)], {"a": list(range(200))}
                ),
                "pivot_format_partner_by_quarter": lambda: format_cells(big_table),
                "pivot_csv_partner_by_quarter": big_table.to_csv,
                "pivot_xlsx_partner_by_quarter": big_table.to_xlsx,
            }
            for name, func in cases.items():
                median_ms, min_ms, result = measure(func, runs)
                extra = {}
                if hasattr(result, "cells"):
                    extra = {"cells": len(result.cells), "rows_shown": len(result.row_headers)}
                elif isinstance(result, str | bytes):
                    extra = {"bytes": len(result)}
                elif hasattr(result, "labels"):
                    extra = {"labels": len(result.labels)}
                common.emit(
                    name,
                    db=kind,
                    rows=rows,
                    runs=runs,
                    ms=median_ms,
                    min_ms=min_ms,
                    populate_seconds=populate_seconds,
                    **extra,
                )
        # Local days of a zone with daylight saving (SQLite: offsets from nested CASEs).
        for tz in ("Europe/Moscow", "Europe/Berlin"):
            with registry.transaction(write=False, context={"tz": tz}) as env:
                median_ms, min_ms, result = measure(
                    lambda env=env: pivot(
                        env, "bench.lead", [], ["stage"], ["create_date:day"], MEASURES
                    ),
                    runs,
                )
                common.emit(
                    "pivot_stage_by_local_day",
                    db=kind,
                    tz=tz,
                    rows=rows,
                    runs=runs,
                    ms=median_ms,
                    min_ms=min_ms,
                    cells=len(result.cells),
                )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--partners", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "all"), default="all")
    args = parser.parse_args(argv)
    for kind in common.database_kinds(args.db, "pivot"):
        run(kind, args.rows, args.partners, args.runs)


if __name__ == "__main__":
    main()
