"""Calendar, graph and pivot pages of the web client, and the pivot table's export."""

from __future__ import annotations

import datetime

from flask import Response, g, request

from core.reporting import pivot as P
from core.web import data as D

GRANULARITIES = ("day", "week", "month", "quarter", "year")
CHARTS = ("bar", "line", "pie", "funnel")
MODES = ("day", "week", "month")


def page_data(env, views, model_name, kind, params, action, lang):
    domain = D.search_domain(env, views.get(model_name, "search"), params, action)
    view = views.get(model_name, kind, (action.view_ids or {}).get(kind) if action else None)
    if kind == "graph":
        return graph(env, model_name, view, domain, params, lang)
    if kind == "pivot":
        return pivot_table(env, model_name, view, domain, params)
    return calendar(env, model_name, view, domain, params, lang)


def _groupings(params, default):
    chosen = [g for g in params.getlist("groupby") if g] or list(default)
    return chosen


def graph(env, model_name, view, domain, params, lang):
    groupby = _groupings(params, view.groupby)[:2]
    chart = params.get("chart") or view.chart
    if chart not in CHARTS:
        raise D.WebInputError(f"unknown chart {chart!r}: one of {', '.join(CHARTS)}")
    measure = params.get("measure", view.measure) or None
    aggregate = params.get("aggregate") or ("sum" if measure else "count")
    data = P.graph_data(env, model_name, domain, groupby, measure, aggregate)
    return {
        "svg": data.svg(chart, lang=lang, currency=_currency(env)),
        "chart": chart,
        "charts": CHARTS,
        "groupby": groupby,
        "measure": measure,
        "aggregate": aggregate,
        "granularities": GRANULARITIES,
    }


def _currency(env) -> str:
    """The code of the user's company currency (RUB when none is set)."""
    company = env.user.sudo().company_id
    return (company.currency_id.name if company and company.currency_id else None) or "RUB"


def pivot_table(env, model_name, view, domain, params):
    rows = [r for r in params.getlist("row") if r] or list(view.rows)
    cols = [c for c in params.getlist("col") if c] or list(view.cols)
    measures = [m for m in params.getlist("measure") if m] or view.measures or ["__count"]
    table = P.pivot(env, model_name, domain, rows, cols, measures)
    return {
        "table": table,
        "rows": rows,
        "cols": cols,
        "measures": measures,
        "currency": _currency(env),
        "max_groupings": P.MAX_GROUPINGS,
    }


def calendar(env, model_name, view, domain, params, lang):
    """Records between the first and last day shown, placed per day (and hour in day/week)."""
    mode = params.get("mode") or "week"
    if mode not in MODES:
        raise D.WebInputError(f"unknown calendar mode {mode!r}")
    try:
        anchor = datetime.date.fromisoformat(
            params.get("date") or datetime.date.today().isoformat()
        )
    except ValueError as exc:
        raise D.WebInputError("date must be YYYY-MM-DD") from exc
    if mode == "day":
        first, days = anchor, 1
    elif mode == "week":
        first, days = anchor - datetime.timedelta(days=anchor.weekday()), 7
    else:
        start = anchor.replace(day=1)
        first = start - datetime.timedelta(days=start.weekday())
        days = 42
    last = first + datetime.timedelta(days=days)
    model = env[model_name]
    start_field = model._fields[view.date_start]
    is_datetime = start_field.type == "datetime"
    tz = env.context.get("tz")
    low = D.to_utc(datetime.datetime.combine(first, datetime.time()), tz) if is_datetime else first
    high = D.to_utc(datetime.datetime.combine(last, datetime.time()), tz) if is_datetime else last
    records = model.search(
        D._and(domain, [(view.date_start, ">=", low), (view.date_start, "<", high)]),
        order=f"{view.date_start}",
        limit=2000,
    )
    names = [view.date_start] + ([view.date_stop] if view.date_stop else [])
    if view.color:
        names.append(view.color)
    rows = records.read(names) if records else []
    titles = records.display_names() if records else {}
    palette = ["#2459b3", "#2e7d32", "#b26a00", "#8e24aa", "#00838f", "#c62828", "#5d4037"]
    events = []
    for row in rows:
        start = D.to_local(row[view.date_start], tz)
        stop = D.to_local(row.get(view.date_stop), tz) if view.date_stop else None
        color_value = row.get(view.color) if view.color else None
        color_key = color_value[0] if isinstance(color_value, (list, tuple)) else color_value
        day = start.date() if isinstance(start, datetime.datetime) else start
        events.append(
            {
                "id": row["id"],
                "title": titles.get(row["id"]) or "",
                "day": day.isoformat(),
                "hour": start.hour if isinstance(start, datetime.datetime) else None,
                "start": start,
                "duration": int((stop - start).total_seconds()) if stop and start else 0,
                "color": palette[hash(str(color_key)) % len(palette)] if color_key else "#6e7781",
                "who": color_value[1] if isinstance(color_value, (list, tuple)) else color_value,
            }
        )
    step = {"day": 1, "week": 7, "month": 31}[mode]
    return {
        "mode": mode,
        "modes": MODES,
        "anchor": anchor,
        "prev": (anchor - datetime.timedelta(days=step)).isoformat(),
        "next": (anchor + datetime.timedelta(days=step)).isoformat(),
        "days": [first + datetime.timedelta(days=i) for i in range(days)],
        "hours": list(range(7, 21)) if mode != "month" and is_datetime else [],
        "events": events,
        "view": view,
        "is_datetime": is_datetime,
    }


def export_pivot(env, model_name, fmt, action):
    """The pivot table of this page's parameters (and the page's ``action``) as CSV or XLSX."""
    views = g.registry.views
    view = views.get(model_name, "pivot")
    domain = D.search_domain(env, views.get(model_name, "search"), request.args, action)
    table = pivot_table(env, model_name, view, domain, request.args)["table"]
    if fmt == "xlsx":
        body = table.to_xlsx()
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        body, mimetype = table.to_csv(), "text/csv; charset=utf-8"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{model_name}-pivot.{fmt}"'
    return response
