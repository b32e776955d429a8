"""What the web client's pages show, computed set-wise through the access-checked environment.

Each function takes an environment bound to the signed-in user and a view, and returns
plain data for a template: a list page, a kanban board, a form with its lines, smart-button
counts and history. Queries are per column or per relation, never per row.
"""

from __future__ import annotations

import datetime
import functools
import json
import zoneinfo
from decimal import Decimal

from core.exceptions import DomainError, UserError
from core.formatting import (
    currency_digits,
    format_date,
    format_datetime,
    format_money,
    format_number,
)
from core.i18n import translate
from core.i18n import translate as tr
from core.io.export import export_rows
from core.orm.views import Field, Filter, iter_fields

PAGE_SIZE = 80
COUNT_CAP = 10_000
NUMERIC = ("integer", "float", "monetary")
OPERATORS = ("=", "!=", "<", "<=", ">", ">=", "ilike", "not ilike", "in", "not in")


class WebInputError(DomainError):
    """A parameter of a page request that cannot be used (bad filter, order, grouping)."""


# -- values ---------------------------------------------------------------------------------------


_SAMPLE = Decimal("1234567.891")


@functools.lru_cache(maxsize=256)
def _number_template(kind, lang, places, currency):
    """``(template, group, decimal)`` read off Babel's rendering of a sample number once, so
    thousands of cells are formatted with ``str.format`` instead of Babel's pattern engine."""
    sample = (
        format_money(_SAMPLE, currency, lang)
        if kind == "money"
        else format_number(_SAMPLE, lang, places)
    )
    digits = places if kind != "money" else currency_digits(currency)
    for group in ("\u202f", "\u00a0", " ", ",", ".", "'"):
        for point in (",", "."):
            if group == point:
                continue
            plain = f"{_SAMPLE:,.{digits}f}".replace(",", "\0").replace(".", point)
            number = plain.replace("\0", group)
            if number in sample:
                return sample.replace(number, "{}", 1), group, point
    return None


def _fast_number(value, lang, kind, places=None, currency="RUB"):
    if value is None or isinstance(value, bool):
        return None
    template = _number_template(kind, lang, places, currency)
    if template is None or value < 0:
        return None
    pattern, group, point = template
    digits = places if kind != "money" else currency_digits(currency)
    text = f"{value:,.{digits}f}".replace(",", "\0").replace(".", point).replace("\0", group)
    return pattern.format(text)


def _zone(tz):
    """A ``ZoneInfo`` for a user's time zone name, None for UTC or an unknown name."""
    if not tz or tz == "UTC":
        return None
    try:
        return zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def to_local(value, tz):
    """A stored (naive UTC) datetime as the user's naive local time."""
    zone = _zone(tz)
    if zone is None or not isinstance(value, datetime.datetime):
        return value
    return value.replace(tzinfo=datetime.UTC).astimezone(zone).replace(tzinfo=None)


def to_utc(value, tz):
    """A naive local datetime typed by the user as the naive UTC value the database keeps."""
    zone = _zone(tz)
    if zone is None or not isinstance(value, datetime.datetime):
        return value
    return value.replace(tzinfo=zone).astimezone(datetime.UTC).replace(tzinfo=None)


def display(field, value, lang, currency="RUB", tz=None) -> str:
    """A value as the user reads it in a cell."""
    if value is None or value == [] or (value is False and field.type != "boolean"):
        return ""
    kind = field.type
    if kind == "many2one":
        return value[1] or "" if isinstance(value, (list, tuple)) else str(value)
    if kind == "boolean":
        return "✓" if value else ""
    if kind == "monetary":
        return _fast_number(value, lang, "money", None, currency) or format_money(
            value, currency, lang
        )
    if kind == "integer":
        return _fast_number(value, lang, "number", 0) or format_number(value, lang, 0)
    if kind == "float":
        return format_number(value, lang, getattr(field, "digits", None))
    if kind == "date":
        return format_date(value, lang)
    if kind == "datetime":
        return format_datetime(value, lang, tz if _zone(tz) else None)
    if kind == "selection":
        return _selection_label(field, value, lang)
    if kind in ("one2many", "many2many"):
        return str(len(value))
    if getattr(field, "translate", False):
        return translate(str(value), lang)
    return str(value)


def _selection_label(field, value, lang, translate=None) -> str:

    for key, label in field.selection or ():
        if key == value:
            return tr(label, lang)
    return str(value)


def selection_options(field, lang):

    return [(key, tr(label, lang)) for key, label in field.selection or ()]


def label(field, lang) -> str:

    return tr(field.string or field.name, lang)


def editable_value(field, value, tz=None):
    """A value as a form input holds it (ISO dates, local times, plain numbers, ids)."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        value = to_local(value, tz)
    if field.type == "many2one":
        return value[0] if isinstance(value, (list, tuple)) else value
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%dT%H:%M")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:f}"
    return value


# -- search parameters ----------------------------------------------------------------------------


def _placeholders(env, domain):
    """``$uid`` and ``$today`` in declared filter domains."""
    today = datetime.date.today()
    out = []
    for term in domain or ():
        if isinstance(term, (list, tuple)) and len(term) == 3:
            value = term[2]
            if value == "$uid":
                value = env.uid
            elif value == "$today":
                value = today
            out.append((term[0], term[1], value))
        else:
            out.append(term)
    return out


def _and(*domains):
    parts = [d for d in domains if d]
    result = []
    for _ in range(len(parts) - 1):
        result.append("&")
    for part in parts:
        result.extend(part)
    return result


def _or(domains):
    domains = [d for d in domains if d]
    result = ["|"] * (len(domains) - 1)
    for part in domains:
        result.extend(part)
    return result


def search_domain(env, search_view, params, action=None):
    """The domain of a list request: the action's, the search text, filters, custom terms."""
    model = env[search_view.model]
    domains = [_placeholders(env, action.domain)] if action and action.domain else []
    text = (params.get("q") or "").strip()
    if text:
        names = [f.name for f in search_view.fields] or [model.rec_name_field() or "id"]
        domains.append(_or([[(name, "ilike", text)] for name in names]))
    by_id = {f.id: f for f in search_view.filters if isinstance(f, Filter)}
    if params.get("mine") and "user_id" in model._fields:
        domains.append([("user_id", "=", env.uid)])
    for name in (
        params.getlist("filter") if hasattr(params, "getlist") else params.get("filter", [])
    ):
        if name not in by_id:
            raise WebInputError(f"unknown filter {name!r}")
        domains.append(_placeholders(env, by_id[name].domain))
    for raw in params.getlist("where") if hasattr(params, "getlist") else params.get("where", []):
        domains.append([_custom_term(model, raw)])
    return _and(*domains)


def _custom_term(model, raw):
    """A custom filter ``field|operator|value`` (value JSON or text); paths allowed."""
    parts = raw.split("|", 2)
    if len(parts) != 3:
        raise WebInputError(f"custom filter {raw!r}: expected field|operator|value")
    path, operator, text = parts
    if operator not in OPERATORS:
        raise WebInputError(f"custom filter on {path!r}: unknown operator {operator!r}")
    try:
        value = json.loads(text)
    except ValueError:
        value = text
    return (path, operator, value)


# -- list -----------------------------------------------------------------------------------------


def list_columns(model, view, lang):
    cols = []
    for node in view.fields:
        if not isinstance(node, Field) or not model.field_visible(node.name.split(".")[0]):
            continue
        field = _path_field(model, node.name)
        cols.append(
            {
                "name": node.name,
                "label": node.string or label(field, lang),
                "type": field.type,
                "field": field,
                "numeric": field.type in NUMERIC,
            }
        )
    return cols


def _path_field(model, path):
    cls = model
    parts = path.split(".")
    for part in parts[:-1]:
        cls = model.env[cls._fields[part].comodel_name]
    return cls._fields[parts[-1]]


def read_rows(records, cols, lang):
    """``[{"id", "cells": [text...], "raw": {...}}]`` for the records, column by column."""
    tz = records.env.context.get("tz")
    direct = [c["name"] for c in cols if "." not in c["name"]]
    rows = records.read(direct) if records else []
    paths = [c["name"] for c in cols if "." in c["name"]]
    related = {}
    if paths and records:
        exported = export_rows(records, paths)
        related = {rec_id: dict(zip(paths, row, strict=False)) for rec_id, row in exported}
    out = []
    for row in rows:
        cells = []
        for col in cols:
            value = (
                row.get(col["name"])
                if "." not in col["name"]
                else related.get(row["id"], {}).get(col["name"])
            )
            cells.append(display(col["field"], value, lang, tz=tz))
        out.append({"id": row["id"], "cells": cells, "raw": row})
    return out


def list_page(env, views, model_name, params, action=None, lang="en"):
    """Everything a list page shows: columns, rows or groups, count, totals, pager."""
    model = env[model_name]
    view = views.get(model_name, "list", (action.view_ids or {}).get("list") if action else None)
    search_view = views.get(model_name, "search")
    cols = list_columns(model, view, lang)
    domain = search_domain(env, search_view, params, action)
    order = params.get("order") or view.order or None
    try:
        offset = max(int(params.get("offset") or 0), 0)
    except ValueError as exc:
        raise WebInputError("offset must be a whole number") from exc
    groupby = [g for g in (params.getlist("groupby") if hasattr(params, "getlist") else []) if g]
    if not groupby and action and action.default_group_by and "nogroup" not in params:
        groupby = []
    sums = [
        c["name"]
        for c in cols
        if c["numeric"]
        and "." not in c["name"]
        and (view.sum is None or c["name"] in view.sum)
        and c["field"].store
    ]
    records = None
    if groupby:
        count = model.search_count(domain, limit=COUNT_CAP + 1)
    else:
        # The page and the count in one go (the ORM reuses a count while nothing changed).
        records, count, _exact = model.search_page(
            domain, order=order, limit=PAGE_SIZE, offset=offset, count_limit=COUNT_CAP + 1
        )
        count = min(count, COUNT_CAP + 1)
    totals = {}
    if sums and count:
        row = model.read_group(domain, [], [f"{s}:sum" for s in sums])[0]
        totals = {s: display(model._fields[s], row[f"{s}:sum"], lang) for s in sums}
    result = {
        "columns": cols,
        "count": count,
        "count_capped": count > COUNT_CAP,
        "totals": totals,
        "offset": offset,
        "limit": PAGE_SIZE,
        "order": order or "",
        "groupby": groupby,
        "groups": None,
        "rows": [],
        "domain": domain,
    }
    if groupby:
        result["groups"] = list_groups(model, domain, groupby, sums, lang)
        return result
    result["rows"] = read_rows(records, cols, lang)
    return result


def list_groups(model, domain, groupby, sums, lang):
    """Groups of the first grouping with counts and subtotals, nested by the next ones: one
    ``read_group`` per level (not per group), nested here by the keys of the levels above."""
    aggregates = ["__count", *[f"{s}:sum" for s in sums]]
    depth = 1
    while depth < len(groupby) and ":" not in groupby[depth - 1]:
        depth += 1  # a date grouping has no per-value domain to nest under
    children: dict = {}
    for level in range(depth, 0, -1):
        specs = groupby[:level]
        for row in model.read_group(domain, specs, aggregates, limit=2000):
            keys = tuple(_group_key(model, spec, row[spec], lang)[0] for spec in specs)
            parent_domain = _and(
                domain,
                *[[(spec, "=", key)] for spec, key in zip(specs[:-1], keys[:-1], strict=True)],
            )
            key, title = _group_key(model, specs[-1], row[specs[-1]], lang)
            spec = specs[-1]
            children.setdefault(keys[:-1], []).append(
                {
                    "key": key,
                    "title": title,
                    "count": row["__count"],
                    "sums": {s: display(model._fields[s], row[f"{s}:sum"], lang) for s in sums},
                    "domain": _and(parent_domain, [(spec, "=", key)]) if ":" not in spec else None,
                    "sub": children.get(keys) if level < depth else None,
                }
            )
    return children.get((), [])[:500]


def _group_key(model, spec, value, lang):
    """``(key, title)`` of a group's value: a many2one's id and name, a date's ISO text."""
    field = model._fields[spec.split(":")[0]]
    if field.type == "many2one":
        return (value[0], value[1]) if value else (None, None)
    key = value.isoformat() if hasattr(value, "isoformat") else value
    return key, display(field, value, lang) if value is not None else None


# -- kanban ---------------------------------------------------------------------------------------


def kanban_board(env, views, model_name, params, action=None, lang="en"):
    """Columns of a kanban view: every stage (folded ones too), counts, sums, first cards."""
    model = env[model_name]
    view = kanban_view(views, model_name, action)
    search_view = views.get(model_name, "search")
    domain = search_domain(env, search_view, params, action)
    field = model._fields[view.group_by]
    aggregates = ["__count"] + ([f"{view.sum_field}:sum"] if view.sum_field else [])
    counts = {}
    for row in model.read_group(domain, [view.group_by], aggregates):
        value = row[view.group_by]
        key = value[0] if isinstance(value, (list, tuple)) else value
        counts[key] = row
    columns = []
    if field.type == "many2one":
        comodel = env[field.comodel_name]
        stages = comodel.search([])
        fold = "fold" in comodel._fields
        names = stages.display_names()
        folded = dict(zip(stages.ids, stages.mapped("fold"), strict=True)) if fold else {}
        keys = [(sid, names[sid], folded.get(sid, False)) for sid in stages.ids]
    else:
        keys = [(k, lbl, False) for k, lbl in selection_options(field, lang)]
    if None in counts:
        keys.insert(0, (None, None, False))
    cols = list_columns(model, _CardView(view.fields), lang)
    folded_keys = [key for key, _title, folded in keys if folded and key is not None]
    shown = model.search_per_group(
        _and(domain, [(view.group_by, "not in", folded_keys)]) if folded_keys else domain,
        view.group_by,
        view.limit,
    )
    every = model.browse([i for records in shown.values() for i in records.ids])
    rows = {row["id"]: row for row in read_rows(every, cols, lang)}
    for key, title, folded in keys:
        row = counts.get(key, {})
        count = row.get("__count", 0)
        cards = [rows[i] for i in shown[key].ids] if key in shown else []
        total = row.get(f"{view.sum_field}:sum") if view.sum_field else None
        columns.append(
            {
                "key": key,
                "title": title,
                "folded": folded,
                "count": count,
                "sum": display(model._fields[view.sum_field], total or 0, lang)
                if view.sum_field
                else None,
                "cards": cards,
                "more": max(count - len(cards), 0) if not folded else 0,
            }
        )
    return {"view": view, "columns": columns, "card_columns": cols, "domain": domain}


def cards_html(cards, columns, model_name, action=None):
    """Kanban cards as HTML, built directly: thousands of cards in one page stay cheap."""
    from markupsafe import Markup, escape

    base = f"/web/{escape(model_name)}/"
    suffix = f"?action={escape(action.id)}" if action else ""
    names = [escape(c["name"]) for c in columns]
    parts = []
    for card in cards:
        cells = card["cells"]
        lines = "".join(
            f'<div class="card-line" data-col="{names[i]}">{escape(cell)}</div>'
            for i, cell in enumerate(cells[1:], start=1)
            if cell
        )
        parts.append(
            f'<article class="card" draggable="true" data-id="{card["id"]}" tabindex="0">'
            f'<a href="{base}{card["id"]}{suffix}" class="card-title">{escape(cells[0]) or "—"}</a>'
            f"{lines}</article>"
        )
    return Markup("\n".join(parts))


class _CardView:
    def __init__(self, fields):
        self.fields = fields


def kanban_view(views, model_name, action=None):
    """The kanban view an action names, else the model's."""
    return views.get(
        model_name, "kanban", (action.view_ids or {}).get("kanban") if action else None
    )


def kanban_more(env, views, model_name, key, offset, params, action=None, lang="en"):
    """The next cards of one kanban column (load more): ``(cards, card columns)``."""
    model = env[model_name]
    view = kanban_view(views, model_name, action)
    domain = search_domain(env, views.get(model_name, "search"), params, action)
    records = model.search(
        _and(domain, [(view.group_by, "=", key)]), limit=view.limit, offset=offset
    )
    cols = list_columns(model, _CardView(view.fields), lang)
    return read_rows(records, cols, lang), cols


# -- form -----------------------------------------------------------------------------------------


def form_page(env, views, model_name, record_id, lang="en", view_id=None):
    """The values, lines, smart-button counts and history of one record's form."""
    model = env[model_name]
    view = views.get(model_name, "form", view_id)
    names = [
        f.name for f in iter_fields(view.body) if "." not in f.name and model.field_visible(f.name)
    ]
    extra = [n for n in ("write_date", "display_name", "state", "active") if n in model._fields]
    record = model.browse(record_id) if record_id else model.browse()
    if record_id:
        values = record.read(list(dict.fromkeys(names + extra)))[0]
    else:
        values = model.default_get(names)
        for name in names:
            values.setdefault(name, None)
            field = model._fields[name]
            if field.type == "many2one" and isinstance(values[name], int):
                target = env[field.comodel_name].browse([values[name]])
                values[name] = (values[name], target.display_names().get(values[name]))
            elif field.type in ("one2many", "many2many") and not isinstance(values[name], list):
                values[name] = []
    lines = {}
    for node in iter_fields(view.body):
        field = model._fields.get(node.name)
        if field is None or field.type not in ("one2many", "many2many") or node.name not in names:
            continue
        comodel = env[field.comodel_name]
        if field.type == "many2many":
            sub = ["display_name"]
        else:
            sub = list(node.fields) or _default_line_columns(comodel)
        line_ids = values.get(node.name) or []
        line_records = comodel.browse(line_ids)
        rows = line_records.read(sub) if line_ids else []
        lines[node.name] = {
            "columns": [
                {"name": n, "field": comodel._fields[n], "label": label(comodel._fields[n], lang)}
                for n in sub
            ],
            "rows": rows,
            "model": field.comodel_name,
            "inverse": getattr(field, "inverse_name", None),
        }
    smart = []
    if record_id:
        for button in view.smart_buttons:
            target = env[button.model]
            try:
                count = target.search_count(
                    [(button.field, "=", record_id), *(button.domain or [])]
                )
            except UserError:
                continue  # no right to read them: no button
            smart.append({"button": button, "count": count})
    return {"view": view, "values": values, "lines": lines, "smart": smart, "record": record}


def form_field_names(view) -> set:
    """The names of the fields a form shows, at any depth."""
    return {f.name for f in iter_fields(view.body)}


def _default_line_columns(comodel):
    skip = {"id", "create_uid", "write_uid", "create_date", "write_date", "display_name"}
    return [
        n
        for n, f in comodel._fields.items()
        if n not in skip
        and f.type not in ("one2many", "many2many", "binary", "json", "text")
        and f.column
    ][:6]


def chatter(record, lang):
    """History entries of a record, newest first (empty when the model is not tracked)."""
    try:
        return record.message_history(limit=50)
    except (UserError, AttributeError):
        return []


def parse_form_values(model, data: dict, record=None) -> dict:
    """Values posted by the form (JSON) converted to what ``write``/``create`` take."""
    if not isinstance(data, dict):
        raise WebInputError("the form values must be an object")
    vals = {}
    for name, value in data.items():
        field = model._fields.get(name)
        if field is None or name in ("id", "write_date", "display_name"):
            raise WebInputError(f"{model._name} has no editable field {name!r}")
        try:
            vals[name] = _parse_value(model, field, value, record)
        except (ValueError, ArithmeticError, TypeError) as exc:
            raise WebInputError(f"{label(field, None)}: {value!r} is not a valid value") from exc
    return vals


def _parse_value(model, field, value, record):
    empty = value in (None, "", False) and field.type != "boolean"
    if field.type in ("one2many", "many2many"):
        existing = record[field.name].ids if record else []
        return _line_commands(model.env[field.comodel_name], field, value, existing)
    if empty:
        return None
    if field.type == "many2one":
        return int(value)
    if field.type == "integer":
        return int(value)
    if field.type == "float":
        return float(str(value).replace(",", ".").replace(" ", ""))
    if field.type == "monetary":
        return Decimal(str(value).replace(",", ".").replace(" ", "").replace("\u00a0", ""))
    if field.type == "boolean":
        return bool(value)
    if field.type == "datetime" and isinstance(value, str):
        return to_utc(datetime.datetime.fromisoformat(value), model.env.context.get("tz"))
    return value


def _line_commands(comodel, field, value, existing):
    """Lines posted as ``[{"id"?, ...values}]`` (one2many) or ``[ids]`` (many2many)."""
    if not isinstance(value, list):
        raise TypeError("lines must be a list")
    if field.type == "many2many":
        return [(6, 0, [int(i) for i in value])]
    commands, kept = [], set()
    for line in value:
        if not isinstance(line, dict):
            raise TypeError("a line must be an object")
        line = dict(line)
        line_id = line.pop("id", None)
        line_vals = parse_form_values(comodel, line)
        if line_id:
            kept.add(int(line_id))
            commands.append((1, int(line_id), line_vals))
        else:
            commands.append((0, 0, line_vals))
    removed = [(2, line_id, 0) for line_id in existing if line_id not in kept]
    return removed + commands
