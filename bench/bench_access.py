"""The cost of access checks: search + read of 80 leads out of 100 000 as a salesman with a
record rule, against the same as the superuser, each in its own transaction (a request).

    python bench/bench_access.py [--db sqlite|postgresql|all] [--rows N] [--runs N]
"""

from __future__ import annotations

import argparse
import time

from common import bench_database, database_kinds, emit, lead_vals, median, partner_vals

from core.modules.manager import AddonManager

FIELDS = ["name", "email", "partner_id", "stage", "expected_revenue", "weighted_revenue"]


def populate(registry, rows, salesmen=10):
    with registry.transaction() as env:
        group = env.ref("bench_access.group_salesman")
        users = env["res.users"].create(
            [
                {"name": f"Salesman {i}", "login": f"s{i}", "groups_id": [(6, 0, [group.id])]}
                for i in range(salesmen)
            ]
        )
        partners = env["bench.partner"].create(partner_vals(1000))
        vals = lead_vals(rows, partners.ids)
        for index, row in enumerate(vals):
            row["user_id"] = users.ids[index % salesmen]
        env["bench.lead"].create(vals)
        return users.ids


def one_request(registry, uid):
    with registry.transaction(uid=uid, write=False) as env:
        records = env["bench.lead"].search([("stage", "!=", "lost")], limit=80)
        return len(records.read(FIELDS))


def run(kind, rows, runs):
    with bench_database(kind) as (config, _registry):
        registry = AddonManager(config).install(["bench_access"])
        started = time.perf_counter()
        salesmen = populate(registry, rows)
        populate_seconds = time.perf_counter() - started
        registry.db.execute_sql("ANALYZE")  # what autovacuum does after a bulk load
        as_salesman, as_superuser = [], []
        for index in range(runs):  # interleaved, so that noise hits both alike
            for uid, sink in ((salesmen[index % len(salesmen)], as_salesman), (1, as_superuser)):
                start = time.perf_counter()
                count = one_request(registry, uid)
                sink.append(time.perf_counter() - start)
                assert count == 80
        ratio = median(as_salesman) / median(as_superuser)
        emit(
            "access_check_cost",
            db=kind,
            rows=rows,
            runs=runs,
            salesman_ms=median(as_salesman) * 1000,
            superuser_ms=median(as_superuser) * 1000,
            ratio=ratio,
            target_ratio=1.3,
            meets_target=ratio <= 1.3,
            populate_seconds=populate_seconds,
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "all"), default="sqlite")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=60)
    args = parser.parse_args(argv)
    for kind in database_kinds(args.db, "access_check_cost"):
        run(kind, args.rows, args.runs)


if __name__ == "__main__":
    main()
