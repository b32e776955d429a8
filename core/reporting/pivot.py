"""Pivot tables and chart data from the access-checked ``read_group``; CSV and XLSX export.

A pivot is one grouped query over ``rows + cols``: every cell's count, sum and the pieces
of an average (sum and count of the values) come back at once, and the subtotals of
outer groups (with nested groupings), the row, column and grand totals are added up from
those cells in Python. Sums therefore equal the sums of their cells exactly (``Decimal``
stays ``Decimal``), an average subtotal or total is the true average of its records (the
database's sum over its count, not an average of averages), and no query runs per cell
or per total.
Record rules and field groups apply as in every other read: ``read_group`` enforces them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from core.exceptions import UserError
from core.formatting import format_money, format_number
from core.i18n import translate
from core.orm.domain import GRANULARITIES
from core.reporting import charts
from core.reporting import pivot_headers as H
from core.reporting import pivot_layout as L
from core.reporting.pivot_export import grid, to_csv, to_xlsx
from core.reporting.pivot_headers import Dimension, Header
from core.reporting.pivot_layout import HeaderCell, Line

MEASURE_FUNCS = ("count", "sum", "avg")
COUNT = "__count"
# More groups than this is no longer a table a person reads: ask for a coarser grouping.
MAX_GROUPS = 20_000
# Groupings in rows and columns together (two by two), as read_group allows.
MAX_GROUPINGS = 4
# A chart with more series than this is unreadable: the smaller ones become "Other".
MAX_SERIES = 10


class PivotError(UserError):
    """A pivot or graph request names something that cannot be grouped or measured.

    ``message`` is the English text with ``%(name)r`` placeholders (the catalog's msgid),
    so the web client can show it in the user's language with ``translated()``."""

    def __init__(self, message: str, **params):
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params

    def translated(self, translate) -> str:
        text = translate(self.message)
        return text % self.params if self.params else text


@dataclass(frozen=True)
class Measure:
    """A measured value: ``__count``, or a number field with ``sum`` or ``avg``."""

    spec: str
    field: object
    func: str
    label: str

    @property
    def money(self) -> bool:
        return self.field is not None and self.field.type == "monetary"


@dataclass
class PivotTable:
    """Cells, totals and headers; every value list has one entry per measure.

    ``cells[(row key, col key)]`` exists only for combinations that have records; a missing
    cell is shown empty. Without row (column) groupings there are no row (column) headers
    and the totals are the only row (column)."""

    model: str
    rows: list[Dimension]
    cols: list[Dimension]
    measures: list[Measure]
    row_headers: list[Header] = field(default_factory=list)
    col_headers: list[Header] = field(default_factory=list)
    cells: dict = field(default_factory=dict)
    row_totals: dict = field(default_factory=dict)
    col_totals: dict = field(default_factory=dict)
    total: list = field(default_factory=list)
    values: dict = field(default_factory=dict)
    lang: str | None = None
    domain: list = field(default_factory=list)
    tz: str | None = None

    def cell_domain(self, row_key=(), col_key=()) -> list:
        """The domain of the records behind a cell, a row total (``col_key=()``), a column
        total (``row_key=()``) or the grand total: the pivot's own domain and the groups'."""
        terms = list(self.domain)
        for dims, key in ((self.rows, row_key), (self.cols, col_key)):
            for dim, value in zip(dims, key or (), strict=False):
                terms += H.group_domain(dim, value, self.tz)
        return terms

    def cell(self, row_key, col_key) -> list | None:
        return self.cells.get((tuple(row_key), tuple(col_key)))

    def value(self, row_key=(), col_key=()) -> list | None:
        """The values of any row and column prefix: a cell, a subtotal of outer groups
        (``row_key=(anna,)`` with two row groupings), a total or the grand total."""
        return self.values.get((tuple(row_key), tuple(col_key)))

    def row_lines(self) -> list[Line]:
        """Rows as shown: each outer group's subtotal line, then its inner rows."""
        return L.row_lines(self)

    def col_lines(self) -> list[Line]:
        """Columns as shown: each outer group's inner columns, then its subtotal column,
        and the grand total column last."""
        return L.col_lines(self)

    def col_header_rows(self) -> list[list[HeaderCell]]:
        """The column header rows of the HTML table above the measures' row."""
        return L.col_header_rows(self, _t("Total", self.lang))

    def format(self, value, measure: Measure, currency_code=None) -> str:
        """A value for display in the table's language (money with a currency code)."""
        if value is None:
            return ""
        return _value_format(measure, self.lang, currency_code)(value)

    def grid(self) -> list[list]:
        """The table as rows of cells for a spreadsheet: two header rows (column groups,
        then measures), one row per row group, a totals row. Numbers stay numbers."""

        return grid(self, _t("Total", self.lang))

    def to_csv(self) -> bytes:
        """UTF-8 CSV with a byte order mark (so spreadsheets read Cyrillic), ``.`` decimals."""

        return to_csv(self)

    def to_xlsx(self, title=None) -> bytes:
        """An XLSX workbook with the table: bold headers and totals, numbers as numbers."""

        return to_xlsx(self, title)


@dataclass
class GraphData:
    """Labels along the axis and one series per value of the second grouping (or one)."""

    labels: list[str]
    series: list[tuple[str, list]]
    measure: Measure
    keys: list = field(default_factory=list)

    def svg(
        self, kind="bar", *, title="", lang=None, value_format=None, stacked=False, currency=None
    ) -> str:
        """The chart as SVG; values are formatted as money in ``currency`` (a code such as
        ``RUB``) when the measure is a money field, else as numbers in ``lang``."""

        if value_format is None:
            value_format = _value_format(self.measure, lang, currency)
        return charts.render(
            kind,
            self.labels,
            self.series,
            title=title,
            lang=lang,
            value_format=value_format,
            stacked=stacked,
        )


def _value_format(measure_: Measure, lang, currency=None):
    if measure_.money and currency:
        return lambda v: format_money(v, currency, lang)
    if measure_.func == "avg" and not measure_.money:
        return lambda v: format_number(v, lang, digits=2)
    return lambda v: format_number(v, lang)


# -- parsing ----------------------------------------------------------------------------------


def _t(text, lang):

    return translate(text, lang)


def _resolve(model, spec: str, path: str):
    """The field at the end of a grouping's (many2one) path, or a PivotError naming it."""
    current = model
    names = path.split(".")
    for depth, name in enumerate(names):
        found = current._fields.get(name)
        if found is None:
            raise PivotError(
                "Grouping %(spec)r: %(model)s has no field %(name)r",
                spec=spec,
                model=current._name,
                name=name,
            )
        if depth < len(names) - 1:
            if found.type != "many2one":
                raise PivotError(
                    "Grouping %(spec)r: %(model)s.%(name)s is not a many2one",
                    spec=spec,
                    model=current._name,
                    name=name,
                )
            current = model.env[found.comodel_name]
    return found


def parse_dimension(model, spec) -> Dimension:
    """Check a grouping such as ``stage_id``, ``user_id.company_id`` or ``create_date:week``."""
    if not isinstance(spec, str) or not spec:
        raise PivotError("A grouping is a field name, got %(spec)r", spec=spec)
    name, _, granularity = spec.partition(":")
    found = _resolve(model, spec, name)
    if granularity and granularity not in GRANULARITIES:
        raise PivotError(
            "Grouping %(spec)r: the granularity must be one of %(choices)s",
            spec=spec,
            choices=", ".join(GRANULARITIES),
        )
    if granularity and found.type not in ("date", "datetime"):
        raise PivotError("Grouping %(spec)r: only dates have a granularity", spec=spec)
    if found.type in ("date", "datetime") and not granularity:
        granularity = "month"  # as read_group does for a bare date
    if found.type in ("one2many", "many2many", "binary", "json", "text"):
        raise PivotError(
            "Grouping %(spec)r: a %(type)s field cannot be grouped by", spec=spec, type=found.type
        )
    label = model.env.translate(found.string or name)
    if granularity and ":" in spec:
        label = f"{label} ({_t(granularity.capitalize(), model.env.lang)})"
    return Dimension(spec, found, granularity, label)


def parse_measure(model, spec) -> Measure:
    """``__count`` (or ``count``), ``field`` (sum), ``field:sum``, ``field:avg``."""
    if spec in (COUNT, "count", None, ""):
        return Measure(COUNT, None, "count", _t("Count", model.env.lang))
    if not isinstance(spec, str):
        raise PivotError("A measure is a field name, got %(spec)r", spec=spec)
    name, _, func = spec.partition(":")
    func = func or "sum"
    if func not in MEASURE_FUNCS:
        raise PivotError("Measure %(spec)r: the function must be one of count, sum, avg", spec=spec)
    if func == "count":
        return Measure(COUNT, None, "count", _t("Count", model.env.lang))
    if "." in name:
        raise PivotError(
            "Measure %(spec)r: measure a field of %(model)s itself", spec=spec, model=model._name
        )
    found = model._fields.get(name)
    if found is None:
        raise PivotError(
            "Measure %(spec)r: %(model)s has no field %(name)r",
            spec=spec,
            model=model._name,
            name=name,
        )
    if found.type not in ("integer", "float", "monetary"):
        raise PivotError("Measure %(spec)r: sums and averages need a number field", spec=spec)
    label = model.env.translate(found.string or name)
    if func == "avg":
        label = f"{label} ({_t('average', model.env.lang)})"
    return Measure(f"{name}:{func}", found, func, label)


def _aggregates(measures) -> list[str]:
    """What read_group must return for these measures: sums, counts of values, the count."""
    specs = [COUNT]
    for m in measures:
        if m.func in ("sum", "avg"):
            specs.append(f"{m.field.name}:sum")
        if m.func == "avg":
            specs.append(f"{m.field.name}:count")
    return list(dict.fromkeys(specs))


# -- values -----------------------------------------------------------------------------------


def _add(target: list, vector: list):
    """Add a group's aggregates into a running total (``None`` = nothing yet)."""
    for index, value in enumerate(vector):
        if value is not None:
            current = target[index]
            target[index] = value if current is None else current + value


def _finisher(measures, aggregates):
    """A function from an aggregates vector to the measures' values."""
    position = {spec: index for index, spec in enumerate(aggregates)}
    plan = [
        (
            m.func,
            m.field,
            position[COUNT if m.func == "count" else f"{m.field.name}:sum"],
            position.get(f"{m.field.name}:count") if m.field is not None else None,
        )
        for m in measures
    ]

    def finish(vector) -> list:
        out = []
        for func, fld, first, second in plan:
            value = vector[first]
            if func == "count":
                out.append(value or 0)
            elif func == "sum":
                out.append(value if value is not None else _zero(fld))
            else:
                out.append(_average(fld, value, vector[second]))
        return out

    return finish


def _zero(fld):
    return Decimal(0).scaleb(-fld.digits) if fld.type == "monetary" else 0


def _average(fld, total, count):
    if not count or total is None:
        return None
    if fld.type == "monetary":
        return (Decimal(total) / count).quantize(
            Decimal(1).scaleb(-fld.digits), rounding=ROUND_HALF_UP
        )
    return float(total) / count


def _grouped(model, domain, specs, aggregates):
    groups = model.read_group(domain or [], specs, aggregates, limit=MAX_GROUPS + 1)
    if len(groups) > MAX_GROUPS:
        raise PivotError(
            "More than %(limit)s groups: choose fewer or coarser groupings "
            "(for example months instead of days)",
            limit=MAX_GROUPS,
        )
    return groups


def _as_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    return list(value)


# -- entry points -----------------------------------------------------------------------------


def pivot(env, model, domain=None, rows=(), cols=(), measures=(COUNT,)) -> PivotTable:
    """A pivot table of ``model`` records matching ``domain`` for the environment's user.

    ``rows``/``cols``: groupings (``stage_id``, ``create_date:month``); at most four in
    all. ``measures``: ``__count``, ``field`` or ``field:sum``, ``field:avg``."""
    records = env[model]
    rows, cols = _as_list(rows), _as_list(cols)
    measure_specs = _as_list(measures) or [COUNT]
    if len(rows) + len(cols) > MAX_GROUPINGS:
        raise PivotError("A pivot groups by at most four fields (rows and columns together)")
    row_dims = [parse_dimension(records, s) for s in rows]
    col_dims = [parse_dimension(records, s) for s in cols]
    specs = [d.spec for d in row_dims + col_dims]
    if len(set(specs)) != len(specs):
        raise PivotError("A grouping appears twice among the rows and columns")
    measure_list = list(
        {m.spec: m for m in (parse_measure(records, s) for s in measure_specs)}.values()
    )
    aggregates = _aggregates(measure_list)
    groups = _grouped(records, domain, specs, aggregates)
    lang = env.lang
    orders = H.orders(records, row_dims + col_dims, groups)
    table = PivotTable(
        model,
        row_dims,
        col_dims,
        measure_list,
        lang=lang,
        domain=list(domain or []),
        tz=env.context.get("tz"),
    )
    table.row_headers = H.headers(row_dims, groups, orders, env, 0)
    table.col_headers = H.headers(col_dims, groups, orders, env, len(row_dims))
    # Every group's aggregates go into its cell and into each enclosing subtotal: the
    # (row prefix, column prefix) pairs, from the cell itself down to the grand total.
    finish = _finisher(measure_list, aggregates)
    split, width = len(row_dims), len(aggregates)
    levels = [(i, j) for i in range(split + 1) for j in range(len(col_dims) + 1)]
    acc = {}
    for g in groups:
        key = tuple(H.group_key(g[s]) for s in specs)
        row_key, col_key = key[:split], key[split:]
        vector = [g[a] for a in aggregates]
        for i, j in levels:
            # Usually one group per cell, but booleans read NULL and false alike: add up.
            target = acc.get((row_key[:i], col_key[:j]))
            if target is None:
                acc[(row_key[:i], col_key[:j])] = list(vector)
            else:
                _add(target, vector)
    values = {k: finish(v) for k, v in acc.items()}
    table.values = values
    full_rows, full_cols = split, len(col_dims)
    if row_dims and col_dims:
        table.cells = {
            k: v for k, v in values.items() if len(k[0]) == full_rows and len(k[1]) == full_cols
        }
    if row_dims:
        table.row_totals = {
            k[0]: v for k, v in values.items() if len(k[0]) == full_rows and not k[1]
        }
    if col_dims:
        table.col_totals = {
            k[1]: v for k, v in values.items() if not k[0] and len(k[1]) == full_cols
        }
    table.total = values.get(((), ())) or finish([None] * width)
    return table


def graph_data(env, model, domain=None, groupby=(), measure=None, aggregate="count"):
    """Labels and series for a chart: ``groupby`` one field (one series) or two (one series
    per value of the second); ``aggregate`` count, sum or avg of the field ``measure``."""
    groupby = _as_list(groupby)
    if not 1 <= len(groupby) <= 2:
        raise PivotError("A graph groups by one or two fields")
    if aggregate not in MEASURE_FUNCS:
        raise PivotError(
            "Aggregate %(aggregate)r: must be one of count, sum, avg", aggregate=aggregate
        )
    spec = COUNT if aggregate == "count" else f"{measure}:{aggregate}"
    if aggregate != "count" and not measure:
        raise PivotError("Sums and averages need a field to measure")
    table = pivot(env, model, domain, rows=groupby[:1], cols=groupby[1:], measures=[spec])
    labels = [h.label for h in table.row_headers]
    chosen = table.measures[0]
    if len(groupby) == 1:
        series = [(chosen.label, [table.row_totals[h.key][0] for h in table.row_headers])]
    else:
        series = [
            (
                col.label,
                [(table.cells.get((row.key, col.key)) or [None])[0] for row in table.row_headers],
            )
            for col in table.col_headers
        ]
        series = _fewer_series(series, table, chosen, env.lang)
    return GraphData(labels, series, chosen, [h.key for h in table.row_headers])


def _fewer_series(series, table, chosen, lang):
    """At most MAX_SERIES series: the largest (by their total) in their order, the rest
    added up as "Other" (counts and sums; an average of averages would be wrong, so for
    averages the rest is left out)."""
    if len(series) <= MAX_SERIES:
        return series
    totals = [table.col_totals[c.key][0] or 0 for c in table.col_headers]
    keep = MAX_SERIES if chosen.func == "avg" else MAX_SERIES - 1
    ranked = sorted(range(len(series)), key=lambda i: (-abs(totals[i]), i))
    kept = sorted(ranked[:keep])
    result = [series[i] for i in kept]
    if chosen.func != "avg":
        rest = [series[i][1] for i in ranked[keep:]]
        merged = []
        for values in zip(*rest, strict=True):
            present = [v for v in values if v is not None]
            merged.append(sum(present[1:], present[0]) if present else None)
        result.append((_t("Other", lang), merged))
    return result


__all__ = ["Dimension", "GraphData", "Header", "PivotError", "PivotTable", "graph_data", "pivot"]
