"""CRM analysis as data (the queries behind the dashboard and the reports): funnel, lost reasons, sources, employees' activity, sales plans.

Each function takes the user's environment and works through it, so record rules apply: a
salesman's funnel counts his own deals only. Each is one or two grouped queries
(``read_group``), however many deals there are. Periods are ``date_from``/``date_to``
(dates, both included); amounts are ``Decimal``.
"""

from __future__ import annotations

import datetime
from decimal import ROUND_HALF_UP, Decimal

ZERO = Decimal("0.00")
SOURCE_DIMENSIONS = ("source_id", "medium_id", "campaign_id")


def _as_date(value):
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(str(value)[:10])


def _period(field, date_from, date_to) -> list:
    """Domain terms for ``field`` (a datetime) within the days from ``date_from`` to ``date_to``."""
    terms = []
    start, end = _as_date(date_from), _as_date(date_to)
    if start:
        terms.append((field, ">=", datetime.datetime.combine(start, datetime.time())))
    if end:
        terms.append(
            (
                field,
                "<",
                datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time()),
            )
        )
    return terms


def _percent(part, whole):
    if not whole:
        return None
    return float(
        (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    )


def _filters(user_id=None, team_id=None) -> list:
    terms = []
    if user_id:
        terms.append(("user_id", "=", int(user_id)))
    if team_id:
        terms.append(("team_id", "=", int(team_id)))
    return terms


def _m2o(value):
    return value[0] if value else None


# -- the sales funnel ------------------------------------------------------------------------------------


def funnel(env, date_from=None, date_to=None, user_id=None, team_id=None, by_user=False):
    """Deals per stage: how many and how much are there now, how many were lost there, how
    many reached the stage (are at it or beyond, or were lost at it or beyond), and the
    conversion from each stage to the next. Deals created in the period.

    Returns ``{"stages": [...], "won": n, "won_amount": ..., "lost": n, "total": n}``, or
    with ``by_user`` ``{"users": [{"user_id", "user", **that}]}``.
    """
    Lead = env["crm.lead"].with_context(active_test=False)
    domain = [("type", "=", "opportunity"), *_period("create_date", date_from, date_to)]
    domain += _filters(user_id, team_id)
    groupby = ["stage_id", "won_status"]
    if by_user:
        groupby = ["user_id", *groupby]
    rows = Lead.read_group(domain, groupby, ["__count", "expected_revenue:sum"])
    stages = env["crm.stage"].search([]).read(["name", "sequence", "is_won"])
    if not by_user:
        return _funnel_of(stages, rows)
    users = {}
    for row in rows:
        users.setdefault(row["user_id"], []).append(row)
    result = []
    for user, user_rows in sorted(users.items(), key=lambda item: (item[0] is None, item[0] or ())):
        data = _funnel_of(stages, user_rows)
        result.append({"user_id": _m2o(user), "user": user[1] if user else None, **data})
    return {"users": result}


def _funnel_of(stages, rows) -> dict:
    by_stage = {}
    for row in rows:
        stage = _m2o(row["stage_id"])
        cell = by_stage.setdefault(
            stage, {"count": 0, "amount": ZERO, "lost": 0, "lost_amount": ZERO}
        )
        amount = row["expected_revenue:sum"] or ZERO
        if row["won_status"] == "lost":
            cell["lost"] += row["__count"]
            cell["lost_amount"] += amount
        else:
            cell["count"] += row["__count"]
            cell["amount"] += amount
    result, reached_after = [], 0
    reached = {}
    # Walk from the last stage back: a deal at (or lost at) a stage has passed every earlier one.
    for stage in reversed(stages):
        cell = by_stage.get(stage["id"], {})
        reached_after += cell.get("count", 0) + cell.get("lost", 0)
        reached[stage["id"]] = reached_after
    for index, stage in enumerate(stages):
        cell = by_stage.get(
            stage["id"], {"count": 0, "amount": ZERO, "lost": 0, "lost_amount": ZERO}
        )
        following = stages[index + 1]["id"] if index + 1 < len(stages) else None
        result.append(
            {
                "stage_id": stage["id"],
                "stage": stage["name"],
                "is_won": stage["is_won"],
                "count": cell["count"],
                "amount": cell["amount"],
                "lost": cell["lost"],
                "lost_amount": cell["lost_amount"],
                "reached": reached[stage["id"]],
                "conversion": _percent(reached[following], reached[stage["id"]])
                if following
                else None,
            }
        )
    won = [s for s in result if s["is_won"]]
    return {
        "stages": result,
        "won": sum(s["count"] for s in won),
        "won_amount": sum((s["amount"] for s in won), ZERO),
        "lost": sum(s["lost"] for s in result),
        "total": sum(s["count"] + s["lost"] for s in result),
    }


# -- lost reasons ----------------------------------------------------------------------------------------


def lost_reasons(env, date_from=None, date_to=None, user_id=None, team_id=None):
    """Lost deals per reason and the stage they were lost at (lost in the period):
    ``[{"reason_id", "reason", "stage_id", "stage", "count", "amount"}]``, most first."""
    Lead = env["crm.lead"].with_context(active_test=False)
    domain = [("type", "=", "opportunity"), ("won_status", "=", "lost")]
    domain += _period("date_lost", date_from, date_to) + _filters(user_id, team_id)
    rows = Lead.read_group(
        domain, ["lost_reason_id", "lost_stage_id"], ["__count", "expected_revenue:sum"]
    )
    result = [
        {
            "reason_id": _m2o(row["lost_reason_id"]),
            "reason": row["lost_reason_id"][1] if row["lost_reason_id"] else None,
            "stage_id": _m2o(row["lost_stage_id"]),
            "stage": row["lost_stage_id"][1] if row["lost_stage_id"] else None,
            "count": row["__count"],
            "amount": row["expected_revenue:sum"] or ZERO,
        }
        for row in rows
    ]
    result.sort(key=lambda r: (-r["count"], r["reason"] or "", r["stage"] or ""))
    return result


# -- sources and UTM -------------------------------------------------------------------------------------


def sources(env, dimension="source_id", date_from=None, date_to=None, user_id=None, team_id=None):
    """How well each source (or medium, or campaign) sells: leads it brought, how many of
    them were converted, deals, deals won and their amount; created in the period.

    ``[{"id", "name", "leads", "converted", "opportunities", "won", "won_amount", "lost",
    "conversion", "win_rate"}]``: conversion is converted / leads, win rate won / deals (%).
    """
    if dimension not in SOURCE_DIMENSIONS:
        raise ValueError(f"dimension must be one of {', '.join(SOURCE_DIMENSIONS)}")
    Lead = env["crm.lead"].with_context(active_test=False)
    base = _period("create_date", date_from, date_to) + _filters(user_id, team_id)
    leads = Lead.read_group(base + [("type", "=", "lead")], [dimension, "status"], ["__count"])
    deals = Lead.read_group(
        base + [("type", "=", "opportunity")],
        [dimension, "won_status"],
        ["__count", "expected_revenue:sum"],
    )
    table = {}

    def cell(key):
        return table.setdefault(
            key,
            {
                "leads": 0,
                "converted": 0,
                "opportunities": 0,
                "won": 0,
                "won_amount": ZERO,
                "lost": 0,
            },
        )

    for row in leads:
        item = cell(row[dimension])
        item["leads"] += row["__count"]
        if row["status"] == "converted":
            item["converted"] += row["__count"]
    for row in deals:
        item = cell(row[dimension])
        item["opportunities"] += row["__count"]
        if row["won_status"] == "won":
            item["won"] += row["__count"]
            item["won_amount"] += row["expected_revenue:sum"] or ZERO
        elif row["won_status"] == "lost":
            item["lost"] += row["__count"]
    result = []
    for key, item in table.items():
        result.append(
            {
                "id": _m2o(key),
                "name": key[1] if key else None,
                **item,
                "conversion": _percent(item["converted"], item["leads"]),
                "win_rate": _percent(item["won"], item["opportunities"]),
            }
        )
    result.sort(key=lambda r: (-r["won_amount"], -r["leads"], r["name"] or ""))
    return result


# -- employees' activity ---------------------------------------------------------------------------------


def activity(env, date_from=None, date_to=None, user_ids=None, granularity=None):
    """Activities done per employee and kind (call, meeting, task, e-mail), in the period;
    with ``granularity`` (day, week, month) also per period:
    ``[{"user_id", "user", "kind", "period", "count"}]``."""
    Activity = env["mail.activity"]
    domain = [("done", "=", True), *_period("date_done", date_from, date_to)]
    if user_ids:
        domain.append(("user_id", "in", [int(u) for u in user_ids]))
    groupby = ["user_id", "activity_category"]
    if granularity:
        groupby.append(f"date_done:{granularity}")
    rows = Activity.read_group(domain, groupby, ["__count"])
    return [
        {
            "user_id": _m2o(row["user_id"]),
            "user": row["user_id"][1] if row["user_id"] else None,
            "kind": row["activity_category"],
            "period": row.get(f"date_done:{granularity}") if granularity else None,
            "count": row["__count"],
        }
        for row in rows
    ]


# -- sales plans ------------------------------------------------------------------------------------------


def plan_fulfilment(env, month=None, user_id=None):
    """Each salesman's plan for the month against the deals he won in it:
    ``[{"user_id", "user", "plan", "won", "fulfilment"}]`` (fulfilment in %)."""
    first = (_as_date(month) or datetime.date.today()).replace(day=1)
    following = (first + datetime.timedelta(days=32)).replace(day=1)
    plan_domain = [("month", "=", first)] + ([("user_id", "=", int(user_id))] if user_id else [])
    plans = env["crm.plan"].search(plan_domain).read(["user_id", "amount"])
    if not plans:
        return []
    users = [p["user_id"][0] for p in plans]
    won = env["crm.lead"].read_group(
        [
            ("type", "=", "opportunity"),
            ("won_status", "=", "won"),
            ("user_id", "in", users),
            *_period("date_won", first, following - datetime.timedelta(days=1)),
        ],
        ["user_id"],
        ["expected_revenue:sum"],
    )
    achieved = {_m2o(r["user_id"]): r["expected_revenue:sum"] or ZERO for r in won}
    result = []
    for plan in plans:
        user = plan["user_id"][0]
        amount = plan["amount"] or ZERO
        done = achieved.get(user, ZERO)
        result.append(
            {
                "user_id": user,
                "user": plan["user_id"][1],
                "plan": amount,
                "won": done,
                "fulfilment": _percent(done, amount),
            }
        )
    result.sort(key=lambda r: r["user"] or "")
    return result
