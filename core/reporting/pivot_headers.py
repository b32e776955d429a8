"""Pivot headers: the order and labels of group values, and the domain of each group."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from babel.dates import format_date as babel_format_date

from core.exceptions import AccessError
from core.formatting import _locale, format_date, format_number
from core.i18n import translate as _core_translate
from core.timezones import zone


def _t(text, lang):
    return _core_translate(text, lang)


@dataclass(frozen=True)
class Dimension:
    """A grouping: ``spec`` as given to read_group, the field at its end, its granularity."""

    spec: str
    field: object
    granularity: str | None
    label: str


@dataclass
class Header:
    """A row or column of the table: the group values (one per dimension) and their labels."""

    key: tuple
    labels: tuple

    @property
    def label(self) -> str:
        return " / ".join(self.labels)


def group_key(value):
    """A hashable group key: a many2one's id, otherwise the value itself."""
    return value[0] if isinstance(value, tuple) else value


def group_label(dim: Dimension, value, lang, translate=None) -> str:
    """How a group value reads in a header: names, selection labels, months, quarters...
    ``translate`` (the environment's) translates selection labels of addons."""
    if value is None or (value is False and dim.field.type != "boolean"):
        return _t("Undefined", lang)
    kind = dim.field.type
    if kind == "many2one":
        return str(value[1]) if isinstance(value, tuple) else str(value)
    if kind == "selection":
        labels = dict(dim.field.selection)
        label = labels.get(value, str(value))
        return translate(label) if translate else _t(label, lang)
    if kind == "boolean":
        return _t("Yes" if value else "No", lang)
    if isinstance(value, datetime.date):
        return date_label(value, dim.granularity or "day", lang)
    if isinstance(value, int | float | Decimal):
        return format_number(value, lang)
    return str(value)


def date_label(day: datetime.date, granularity: str, lang) -> str:
    """``March 2026``, ``Q1 2026``, ``W10 2026``, ``2026``, or the date itself."""
    locale = _locale(lang)
    if granularity == "year":
        return str(day.year)
    if granularity == "month":
        text = babel_format_date(day, "LLLL y", locale=locale)
        return text[:1].upper() + text[1:]
    if granularity == "quarter":
        return babel_format_date(day, "QQQ y", locale=locale)
    if granularity == "week":
        year, week, _ = day.isocalendar()
        return _t("W%(week)s %(year)s", lang) % {"week": week, "year": year}
    return format_date(day, lang)


def _sort_key(dim: Dimension, order: dict):
    """Headers in a reading order: many2one by the target's own order (stages by sequence),
    selections in declared order, dates in time, empty last."""
    kind = dim.field.type

    def key(value):
        if value is None:
            return (2, 0)
        if kind == "many2one":
            return (0, order.get(value, len(order)), value)
        if kind == "selection":
            return (0, order.get(value, len(order)), str(value))
        if kind in ("char", "text"):
            return (0, str(value).casefold())
        return (0, value)

    return key


def orders(model, dims, groups) -> list[dict]:
    """Per dimension: the position of each many2one id in its model's order (one search
    per many2one dimension, within the user's rules) or of each selection key."""
    result = []
    for dim in dims:
        kind = dim.field.type
        if kind == "many2one":
            names = {g[dim.spec][0]: g[dim.spec][1] for g in groups if g[dim.spec] is not None}
            comodel = model.env[dim.field.comodel_name].with_context(active_test=False)
            try:
                ordered = comodel.search([("id", "in", sorted(names))]).ids if names else []
            except AccessError:
                # Grouping by a model the user may not list: its names, alphabetically.
                ordered = sorted(names, key=lambda i: (str(names[i]).casefold(), i))
            # Records outside the user's rules ("Restricted") follow, by id.
            ordered += sorted(set(names) - set(ordered))
            result.append({id_: pos for pos, id_ in enumerate(ordered)})
        elif kind == "selection":
            result.append({k: pos for pos, (k, _l) in enumerate(dim.field.selection)})
        else:
            result.append({})
    return result


def headers(dims, groups, orders, env, offset) -> list[Header]:
    """Distinct combinations of the groups' values for these dimensions, in order."""
    if not dims:
        return []
    seen = {}
    for g in groups:
        values = tuple(g[d.spec] for d in dims)
        key = tuple(group_key(v) for v in values)
        if key not in seen:
            seen[key] = values
    keys = [_sort_key(d, orders[offset + i]) for i, d in enumerate(dims)]
    ordered = sorted(seen, key=lambda k: tuple(f(v) for f, v in zip(keys, k, strict=True)))
    return [
        Header(
            k,
            tuple(
                group_label(d, v, env.lang, env.translate)
                for d, v in zip(dims, seen[k], strict=True)
            ),
        )
        for k in ordered
    ]


# -- drilling down ----------------------------------------------------------------------------


def group_domain(dim: Dimension, key, tz=None) -> list:
    """Domain terms matching the records of one group of ``dim`` (its header ``key``), so a
    click on a cell can list them: dates as a half-open range (datetimes from the local
    midnights of ``tz``, as they were grouped), empty values as ``= False``."""
    name = dim.spec.partition(":")[0]
    kind = dim.field.type
    if key is None or (key is False and kind != "boolean"):
        # Empty at any step of a path: the lead has no user, or the user no company.
        parts = name.split(".")
        terms = [(".".join(parts[: i + 1]), "=", False) for i in range(len(parts))]
        return ["|"] * (len(terms) - 1) + terms
    if dim.granularity:
        start, end = key, _period_end(key, dim.granularity)
        if kind == "datetime":
            start, end = _utc_midnight(start, tz), _utc_midnight(end, tz)
        return [(name, ">=", start), (name, "<", end)]
    if kind == "boolean" and not key:
        return ["|", (name, "=", False), (name, "=", None)]
    return [(name, "=", key)]


def _period_end(day: datetime.date, granularity: str) -> datetime.date:
    if granularity == "day":
        return day + datetime.timedelta(days=1)
    if granularity == "week":
        return day + datetime.timedelta(days=7)
    months = {"month": 1, "quarter": 3, "year": 12}[granularity]
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def _utc_midnight(day: datetime.date, tz) -> datetime.datetime:
    """The stored (naive UTC) moment of midnight starting ``day`` in zone ``tz``."""
    midnight = datetime.datetime.combine(day, datetime.time())
    if not tz or tz == "UTC":
        return midnight

    local = midnight.replace(tzinfo=zone(tz))
    return local.astimezone(datetime.UTC).replace(tzinfo=None)


__all__ = ["Dimension", "Header", "date_label", "group_domain", "group_label", "headers"]
