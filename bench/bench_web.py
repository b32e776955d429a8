"""Server time of web client pages over 100 000 records (bench_web: 12 fields, 2 many2ones).

    python bench/bench_web.py [--db sqlite|postgresql|all] [--rows N] [--repeat R]

Each page is requested through the Flask application in-process (routing, session,
transaction, queries, template) as a signed-in administrator; the median of R requests is
reported: the list page (80 rows, default order), a filtered and grouped list, a kanban
page with 2 000 cards in 8 columns, and a form with 50 lines.
"""

from __future__ import annotations

import argparse
import datetime
import random
import time
from decimal import Decimal

from common import (
    BENCH_ADDONS,
    database_kinds,
    emit,
    make_config,
    median,
    pg_database,
    sqlite_url,
    temp_dir,
)

from core.http.app import create_app
from core.modules.manager import AddonManager

PASSWORD = "bench-password-1"
TARGETS_MS = {"list": 25, "list_grouped": 60, "kanban_2000": 60, "form_50_lines": 25}


def populate(registry, rows):
    rnd = random.Random(7)
    with registry.transaction() as env:
        env.ref("base.user_admin").set_password(PASSWORD)
        stages = env["bench.web.stage"].create(
            [{"name": f"Stage {i + 1}", "sequence": i} for i in range(8)]
        )
        customers = env["bench.web.customer"].create(
            [{"name": f"Customer {i:04d}"} for i in range(1000)]
        )
        today = datetime.date(2026, 1, 1)
        batch = []
        for i in range(rows):
            batch.append(
                {
                    "name": f"Deal {i:06d}",
                    "email": f"deal{i}@example.com",
                    "phone": f"+7 900 {i:07d}",
                    "customer_id": customers.ids[i % 1000],
                    "stage_id": stages.ids[(i // 50) % 8],
                    "state": ("open", "won", "lost")[i % 3],
                    "priority": i % 50,
                    "probability": float(i % 100),
                    "amount": Decimal(rnd.randint(100, 1_000_000)) / 100,
                    "date_deadline": today + datetime.timedelta(days=i % 365),
                }
            )
            if len(batch) == 10_000:
                env["bench.web.deal"].create(batch)
                batch = []
        if batch:
            env["bench.web.deal"].create(batch)
        deal = env["bench.web.deal"].create(
            {
                "name": "Deal with lines",
                "stage_id": stages.ids[0],
                "line_ids": [
                    (0, 0, {"name": f"Line {j}", "qty": j % 5 + 1, "price": "10.50"})
                    for j in range(50)
                ],
            }
        )
        return deal.id


def signed_in_client(app):
    client = app.test_client()
    with client.session_transaction() as session:
        session["csrf_token"] = "t"
    response = client.post(
        "/web/login", data={"login": "admin", "password": PASSWORD, "csrf_token": "t"}
    )
    assert response.status_code == 302, response.status_code
    return client


def measure(client, url, repeat):
    client.get(url)  # warm: registry, rights, templates
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, (url, response.status_code)
    return median(times) * 1000


def run(kind, rows, repeat):
    with temp_dir() as tmp:
        url_cm = pg_database() if kind == "postgresql" else None
        url = url_cm.__enter__() if url_cm else sqlite_url(tmp)
        try:
            config = make_config(url, paths=[BENCH_ADDONS], tmpdir=tmp)
            registry = AddonManager(config).install(["bench_web"])
            start = time.perf_counter()
            form_id = populate(registry, rows)
            emit("web_populate", db=kind, rows=rows, seconds=time.perf_counter() - start)
            client = signed_in_client(create_app(config))
            pages = {
                "list": "/web/bench.web.deal?view=list",
                "list_grouped": "/web/bench.web.deal?view=list&filter=open&groupby=stage_id",
                "kanban_2000": "/web/bench.web.deal?view=kanban&filter=kanban",
                "form_50_lines": f"/web/bench.web.deal/{form_id}",
            }
            for name, path in pages.items():
                ms = measure(client, path, repeat)
                emit(f"web_{name}", db=kind, rows=rows, median_ms=ms, target_ms=TARGETS_MS[name])
            registry.db.close()
        finally:
            if url_cm:
                url_cm.__exit__(None, None, None)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgresql", "all"])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    for kind in database_kinds(args.db, "web"):
        run(kind, args.rows, args.repeat)


if __name__ == "__main__":
    main()
