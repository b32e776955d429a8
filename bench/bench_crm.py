"""CRM at scale: generating data, converting leads, the funnel report, the pipeline kanban.

On a fresh database with the shipped addons (contacts, calendar, crm_leads):

1. ``crm_generate``: 20 000 partners and 100 000 leads through ``kontora demo generate``'s
   generator (ORM ``create(list)`` in batches of 5 000), seconds;
2. ``crm_kanban_first_page``: the pipeline kanban's first page (every column's count and
   sum, the first 20 cards of each) over 10 000 deals, as a manager, median ms;
3. ``crm_convert``: 10 000 leads converted in one call with the duplicate check (a fifth of
   them match an existing partner by e-mail), conversions per second;
4. ``crm_funnel``: the funnel report over 100 000+ deals, as a manager and as a salesman
   (record rules applied), median ms (target: 200 ms or less).

    python bench/bench_crm.py [--leads 100000] [--partners 20000] [--deals 100000]
                              [--convert 10000] [--runs 5] [--db sqlite|postgresql|all]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import time

import common

from core.modules.manager import AddonManager


@contextlib.contextmanager
def crm_database(kind):
    """A registry with crm_leads installed on a throwaway database of ``kind``."""
    with common.temp_dir() as tmpdir:
        url_cm = (
            contextlib.nullcontext(common.sqlite_url(tmpdir))
            if kind == "sqlite"
            else common.pg_database()
        )
        with url_cm as url:
            config = common.make_config(url, paths=[common.SHIPPED_ADDONS], tmpdir=tmpdir)
            registry = AddonManager(config).install(["crm_leads"])
            try:
                yield registry
            finally:
                if not registry.db.is_closed():
                    registry.db.close()


def module(name):
    return importlib.import_module(f"kontora_addons.crm_leads.{name}")


def measure(func, runs):
    func()  # warm up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return common.median(times) * 1000, min(times) * 1000


def users(registry):
    """A manager and three salesmen, the generator's salesmen."""
    with registry.transaction() as env:
        Users = env["res.users"]
        salesman = env.ref("contacts.group_sale_salesman").id
        manager = Users.create(
            {
                "name": "Manager",
                "login": "manager",
                "groups_id": [(6, 0, [env.ref("contacts.group_sale_manager").id])],
            }
        )
        sellers = Users.create(
            [
                {"name": f"Seller {i}", "login": f"seller{i}", "groups_id": [(6, 0, [salesman])]}
                for i in range(3)
            ]
        )
        return manager.id, sellers.ids


def analyze(registry):
    """Fresh planner statistics, as autovacuum (PostgreSQL) or ``ANALYZE`` would give."""
    registry.db.execute_sql("ANALYZE")


def run(kind, args):
    from core.web.data import kanban_board

    with crm_database(kind) as registry:
        # The addon's modules exist once a registry with it installed has been built.
        demo, analysis, convert = module("demo"), module("analysis"), module("convert")
        manager, sellers = users(registry)

        start = time.perf_counter()
        with registry.transaction() as env:
            demo.generate(env, partners=args.partners, seed=1)
        partners_seconds = time.perf_counter() - start
        with registry.transaction() as env:
            demo.generate(env, leads=args.leads, seed=1)
        seconds = time.perf_counter() - start
        common.emit(
            "crm_generate",
            db=kind,
            partners=args.partners,
            leads=args.leads,
            seconds=seconds,
            partners_seconds=partners_seconds,
            leads_seconds=seconds - partners_seconds,
            leads_per_second=round(args.leads / (seconds - partners_seconds)),
        )

        with registry.transaction() as env:
            demo.generate(env, opportunities=10_000, seed=2)
        analyze(registry)
        views = registry.views
        action = views.actions["crm_leads.action_pipeline"]

        def kanban():
            with registry.transaction(uid=manager, write=False) as env:
                return kanban_board(env, views, "crm.lead", {}, action)

        median, best = measure(kanban, args.runs)
        board = kanban()
        common.emit(
            "crm_kanban_first_page",
            db=kind,
            deals=sum(c["count"] for c in board["columns"]),
            cards=sum(len(c["cards"]) for c in board["columns"]),
            median_ms=median,
            min_ms=best,
        )

        with registry.transaction() as env:
            leads = env["crm.lead"].search([("type", "=", "lead")], limit=args.convert, order="id")
            emails = env["res.partner"].search([], limit=args.convert // 5).mapped("email")
            # A fifth of the leads write from an address a partner already has.
            for lead, email in zip(leads[: len(emails)], emails, strict=False):
                lead.email_from = email
            lead_ids = leads.ids
            last_partner = max(
                env["res.partner"].with_context(active_test=False).search([]).ids or [0]
            )
        start = time.perf_counter()
        with registry.transaction(uid=manager) as env:
            deals = convert.convert_leads(env["crm.lead"].browse(lead_ids))
        seconds = time.perf_counter() - start
        with registry.transaction(write=False) as env:
            rows = (
                env["crm.lead"]
                .browse(lead_ids)
                .read(["converted_partner_id", "converted_contact_id"])
            )
            reused = sum(
                1
                for row in rows
                if any(
                    row[k] and row[k][0] <= last_partner
                    for k in ("converted_partner_id", "converted_contact_id")
                )
            )
        common.emit(
            "crm_convert",
            db=kind,
            leads=len(lead_ids),
            deals=len(deals),
            existing_partners_used=reused,
            seconds=seconds,
            per_second=round(len(lead_ids) / seconds),
        )

        remaining = max(args.deals - 20_000, 0)
        with registry.transaction() as env:
            demo.generate(env, opportunities=remaining, seed=3)
        analyze(registry)
        for who, uid in (("manager", manager), ("salesman", sellers[0])):

            def funnel(uid=uid):
                with registry.transaction(uid=uid, write=False) as env:
                    return analysis.funnel(env)

            median, best = measure(funnel, args.runs)
            common.emit(
                "crm_funnel",
                db=kind,
                user=who,
                deals=funnel()["total"],
                median_ms=median,
                min_ms=best,
                target_ms=200,
            )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--partners", type=int, default=20_000)
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--convert", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "all"), default="all")
    args = parser.parse_args(argv)
    for kind in common.database_kinds(args.db, "crm"):
        run(kind, args)


if __name__ == "__main__":
    main()
