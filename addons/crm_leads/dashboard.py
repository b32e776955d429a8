"""Home-page widgets: my pipeline, the sales funnel, this month's plans (rules apply)."""

from __future__ import annotations

import datetime

from core import charts, format_money, tr
from core import views as V

from . import analysis


def my_pipeline(env):
    """Open deals of the signed-in user: how many and how much."""
    rows = env["crm.lead"].read_group(
        [("type", "=", "opportunity"), ("won_status", "=", "pending"), ("user_id", "=", env.uid)],
        [],
        ["__count", "expected_revenue:sum"],
    )
    count = rows[0]["__count"] if rows else 0
    amount = rows[0]["expected_revenue:sum"] if rows else 0
    return {
        "kind": "number",
        "value": str(count),
        "caption": tr(
            env, "open deals for %(amount)s", amount=format_money(amount or 0, "RUB", env.lang)
        ),
        "url": "/web/crm.lead?view=kanban",
    }


def sales_funnel(env):
    """The funnel of the deals the user may see: how many reached each stage."""
    data = analysis.funnel(env)
    stages = [s for s in data["stages"] if not s["is_won"]] + [
        s for s in data["stages"] if s["is_won"]
    ]
    labels = [tr(env, s["stage"]) for s in stages]
    return {
        "kind": "svg",
        "svg": charts.funnel_chart(labels, [s["reached"] for s in stages], lang=env.lang),
    }


def plan_fulfilment(env):
    """This month's plans against the deals won so far."""
    rows = analysis.plan_fulfilment(env, datetime.date.today())
    return {
        "kind": "table",
        "columns": [
            tr(env, "Salesman"),
            tr(env, "Plan"),
            tr(env, "Won"),
            tr(env, "Fulfilment"),
        ],
        "rows": [
            [
                row["user"],
                format_money(row["plan"], "RUB", env.lang),
                format_money(row["won"], "RUB", env.lang),
                "—" if row["fulfilment"] is None else f"{row['fulfilment']:.1f}%",
            ]
            for row in rows
        ],
    }


def widgets():
    return [
        V.Widget("crm_leads.my_pipeline", "My pipeline", my_pipeline, sequence=10),
        V.Widget("crm_leads.funnel", "Sales funnel", sales_funnel, sequence=20),
        V.Widget("crm_leads.plans", "Sales plans this month", plan_fulfilment, sequence=30),
    ]
