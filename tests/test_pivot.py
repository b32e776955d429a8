"""Pivot tables and graph data: totals, record rules, date granularities, CSV/XLSX export."""

from __future__ import annotations

import csv
import datetime
import io
import logging
import random
from collections import Counter
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from core.exceptions import AccessError, DomainError
from core.i18n import translate
from core.reporting.pivot import Header, PivotError, graph_data, pivot
from core.timezones import offset_changes

# (name, salesman, stage, expected revenue, deadline)
LEADS = [
    ("A1", "a", "won", "100.00", "2025-12-29"),
    ("A2", "a", "new", "250.50", "2025-12-31"),
    ("A3", "a", "new", None, "2026-01-04"),
    ("B1", "b", "new", "500.00", "2026-01-05"),
    ("B2", "b", "won", "40.00", "2026-03-31"),
    ("B3", "b", "lost", "0.33", "2026-04-01"),
    ("M1", "m", "won", "1000.01", None),
]


@pytest.fixture
def world(install):
    """Salesmen Anna and Boris (own leads), manager Maria (all), leads of each."""
    registry = install("fx_access")
    with registry.transaction() as env:
        own = env.ref("fx_access.group_sale_own")
        every = env.ref("fx_access.group_sale_all")
        users = env["res.users"].create(
            [
                {"name": "Anna", "login": "a", "groups_id": [(6, 0, [own.id])]},
                {"name": "Boris", "login": "b", "groups_id": [(6, 0, [own.id])]},
                {"name": "Maria", "login": "m", "groups_id": [(6, 0, [every.id])]},
            ]
        )
        uid = dict(zip("abm", users.ids, strict=True))
        env["acc.lead"].create(
            [
                {
                    "name": name,
                    "user_id": uid[who],
                    "stage": stage,
                    "expected_revenue": revenue,
                    "date_deadline": deadline,
                }
                for name, who, stage, revenue, deadline in LEADS
            ]
        )
    return registry, uid


def _direct_sum(rows, pick=lambda r: True):
    return sum((Decimal(r[3]) for r in rows if pick(r) and r[3] is not None), Decimal("0.00"))


def test_totals_equal_the_sums_of_the_cells_and_a_direct_computation(world):
    registry, uid = world
    with registry.transaction(uid=uid["m"]) as env:
        table = pivot(
            env,
            "acc.lead",
            [],
            rows=["user_id"],
            cols=["stage"],
            measures=["__count", "expected_revenue:sum", "expected_revenue:avg"],
        )
    assert [h.label for h in table.row_headers] == ["Anna", "Boris", "Maria"]
    assert [h.label for h in table.col_headers] == ["New", "Won", "Lost"]
    for row in table.row_headers:
        cells = [table.cell(row.key, col.key) for col in table.col_headers]
        cells = [c for c in cells if c]
        assert table.row_totals[row.key][0] == sum(c[0] for c in cells)
        assert table.row_totals[row.key][1] == sum(c[1] for c in cells)
    for col in table.col_headers:
        cells = [table.cell(row.key, col.key) for row in table.row_headers]
        cells = [c for c in cells if c]
        assert table.col_totals[col.key][0] == sum(c[0] for c in cells)
        assert table.col_totals[col.key][1] == sum(c[1] for c in cells)
    count, total, average = table.total
    assert count == len(LEADS) == sum(t[0] for t in table.row_totals.values())
    assert total == _direct_sum(LEADS) == Decimal("1890.84")
    assert total == sum(t[1] for t in table.col_totals.values())
    assert isinstance(total, Decimal)
    # The average of all records with a value (A3 has none), not an average of averages.
    valued = [Decimal(r[3]) for r in LEADS if r[3] is not None]
    assert average == (sum(valued) / len(valued)).quantize(Decimal("0.01"))
    anna = (uid["a"],)
    assert table.cell(anna, ("new",)) == [2, Decimal("250.50"), Decimal("250.50")]
    assert table.cell(anna, ("lost",)) is None


def test_salesman_sees_only_his_own_records_in_cells_and_totals(world):
    registry, uid = world
    with registry.transaction(uid=uid["a"]) as env:
        table = pivot(
            env,
            "acc.lead",
            [],
            rows=["user_id"],
            cols=["stage"],
            measures=["__count", "expected_revenue"],
        )
        graph = graph_data(env, "acc.lead", [], ["stage"], "expected_revenue", "sum")
    assert [h.label for h in table.row_headers] == ["Anna"]
    assert [h.label for h in table.col_headers] == ["New", "Won"]
    own = [r for r in LEADS if r[1] == "a"]
    assert table.total == [len(own), _direct_sum(own)]
    assert graph.labels == ["New", "Won"]
    assert graph.series[0][1] == [Decimal("250.50"), Decimal("100.00")]


def test_restricted_field_cannot_be_measured_by_a_salesman(world):
    registry, uid = world
    with registry.transaction(uid=uid["a"]) as env, pytest.raises(AccessError):
        pivot(env, "acc.lead", [], rows=["stage"], measures=["cost:sum"])
    with registry.transaction(uid=uid["m"]) as env:
        assert pivot(env, "acc.lead", [], rows=["stage"], measures=["cost"]).total == [
            Decimal("0.00")
        ]


@pytest.mark.parametrize(
    ("granularity", "expected"),
    [
        (
            "day",
            [
                ("12/29/2025", 1),
                ("12/31/2025", 1),
                ("1/4/2026", 1),
                ("1/5/2026", 1),
                ("3/31/2026", 1),
                ("4/1/2026", 1),
                ("Undefined", 1),
            ],
        ),
        # Weeks start on Monday: 29 Dec 2025 .. 4 Jan 2026 is ISO week 1 of 2026.
        ("week", [("W1 2026", 3), ("W2 2026", 1), ("W14 2026", 2), ("Undefined", 1)]),
        (
            "month",
            [
                ("December 2025", 2),
                ("January 2026", 2),
                ("March 2026", 1),
                ("April 2026", 1),
                ("Undefined", 1),
            ],
        ),
        ("quarter", [("Q4 2025", 2), ("Q1 2026", 3), ("Q2 2026", 1), ("Undefined", 1)]),
        ("year", [("2025", 2), ("2026", 4), ("Undefined", 1)]),
    ],
)
def test_date_granularities_group_dates(world, granularity, expected):
    registry, uid = world
    with registry.transaction(uid=uid["m"]) as env:
        table = pivot(env, "acc.lead", [], rows=[f"date_deadline:{granularity}"])
    got = [(h.label, table.row_totals[h.key][0]) for h in table.row_headers]
    assert got == expected, got
    assert all(isinstance(h.key[0], datetime.date | None) for h in table.row_headers)


def test_datetimes_group_by_their_day_month_and_year_near_midnight(world):
    registry, uid = world
    moments = {
        "A1": datetime.datetime(2025, 12, 31, 23, 59, 59),
        "A2": datetime.datetime(2026, 1, 1, 0, 0, 0),
        "B1": datetime.datetime(2026, 3, 31, 23, 59, 59, 500000),
        "B2": datetime.datetime(2026, 4, 1, 0, 0, 1),
    }
    with registry.transaction() as env:
        leads = env["acc.lead"]
        table = leads._table
        for name, moment in moments.items():
            table.update(create_date=moment).where(table.name == name).execute()
    with registry.transaction(uid=uid["m"], context={"lang": "ru"}) as env:
        domain = [("name", "in", list(moments))]
        days = pivot(env, "acc.lead", domain, rows=["create_date:day"])
        months = pivot(env, "acc.lead", domain, cols=["create_date"])
        quarters = pivot(env, "acc.lead", domain, rows=["create_date:quarter"])
        years = pivot(env, "acc.lead", domain, rows=["create_date:year"])
    assert [h.label for h in days.row_headers] == [
        "31.12.2025",
        "01.01.2026",
        "31.03.2026",
        "01.04.2026",
    ]
    assert [h.label for h in months.col_headers] == [
        "Декабрь 2025",
        "Январь 2026",
        "Март 2026",
        "Апрель 2026",
    ]
    assert [h.key[0] for h in months.col_headers] == [
        datetime.date(2025, 12, 1),
        datetime.date(2026, 1, 1),
        datetime.date(2026, 3, 1),
        datetime.date(2026, 4, 1),
    ]
    assert [(h.label, quarters.row_totals[h.key]) for h in quarters.row_headers] == [
        ("4-й кв. 2025", [1]),
        ("1-й кв. 2026", [2]),
        ("2-й кв. 2026", [1]),
    ]
    assert [(h.label, years.row_totals[h.key]) for h in years.row_headers] == [
        ("2025", [1]),
        ("2026", [3]),
    ]


def test_graph_data_gives_one_series_per_value_of_the_second_grouping(world):
    registry, uid = world
    with registry.transaction(uid=uid["m"]) as env:
        single = graph_data(env, "acc.lead", [], ["stage"])
        double = graph_data(env, "acc.lead", [], ["stage", "user_id"], "expected_revenue", "sum")
        average = graph_data(env, "acc.lead", [], "user_id", "expected_revenue", "avg")
        svg = double.svg("bar", title="Revenue", stacked=True)
    assert single.labels == ["New", "Won", "Lost"]
    assert single.series == [("Count", [3, 3, 1])]
    assert [name for name, _values in double.series] == ["Anna", "Boris", "Maria"]
    assert dict(double.series)["Anna"] == [Decimal("250.50"), Decimal("100.00"), None]
    assert dict(double.series)["Maria"] == [None, Decimal("1000.01"), None]
    assert average.series == [
        ("Expected revenue (average)", [Decimal("175.25"), Decimal("180.11"), Decimal("1000.01")])
    ]
    assert svg.startswith("<svg") and "Anna" in svg and "Revenue" in svg


def test_no_matching_records_gives_empty_headers_and_zero_totals(world):
    registry, uid = world
    with registry.transaction(uid=uid["m"]) as env:
        table = pivot(
            env,
            "acc.lead",
            [("name", "=", "nothing")],
            rows=["user_id"],
            cols=["stage"],
            measures=["__count", "expected_revenue", "expected_revenue:avg"],
        )
        graph = graph_data(env, "acc.lead", [("name", "=", "nothing")], ["stage"])
    assert table.row_headers == [] and table.col_headers == []
    assert table.total == [0, Decimal("0.00"), None]
    assert graph.labels == [] and graph.series == [("Count", [])]


@pytest.mark.parametrize(
    ("kwargs", "english", "russian"),
    [
        ({"rows": ["nope"]}, "acc.lead has no field 'nope'", "у модели acc.lead нет поля 'nope'"),
        ({"rows": ["name:month"]}, "only dates have a granularity", "бывает только у дат"),
        ({"rows": ["date_deadline:decade"]}, "granularity must be one of", "шаг должен быть"),
        ({"rows": ["tag_ids"]}, "cannot be grouped by", "группировать нельзя"),
        (
            {"rows": ["stage", "user_id"], "cols": ["date_deadline", "name", "partner_name"]},
            "at most four",
            "не более чем по четырём полям",
        ),
        ({"rows": ["stage"], "cols": ["stage"]}, "appears twice", "указана дважды"),
        ({"measures": ["name:sum"]}, "need a number field", "только по числовому полю"),
        ({"measures": ["expected_revenue:max"]}, "one of count, sum, avg", "функция должна быть"),
        ({"measures": ["nope:avg"]}, "acc.lead has no field 'nope'", "нет поля 'nope'"),
        (
            {"measures": ["user_id.name:sum"]},
            "measure a field of acc.lead itself",
            "укажите поле самой модели acc.lead",
        ),
    ],
)
def test_bad_groupings_and_measures_are_clear_errors_in_both_languages(
    world, kwargs, english, russian
):
    registry, uid = world
    with registry.transaction(uid=uid["m"]) as env, pytest.raises(PivotError) as caught:
        pivot(env, "acc.lead", [], **kwargs)
    assert english in str(caught.value)
    assert russian in caught.value.translated(lambda text: translate(text, "ru"))


class _QueryCounter(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record):
        self.count += 1


def _queries(call) -> int:
    logger = logging.getLogger("peewee")
    counter, level = _QueryCounter(), logger.level
    logger.addHandler(counter)
    logger.setLevel(logging.DEBUG)
    try:
        call()
    finally:
        logger.removeHandler(counter)
        logger.setLevel(level)
    return counter.count


def test_number_of_queries_does_not_grow_with_the_number_of_cells(world):
    registry, uid = world
    args = dict(rows=["user_id"], cols=["stage"], measures=["__count", "expected_revenue:avg"])
    with registry.transaction(uid=uid["m"]) as env:
        pivot(env, "acc.lead", [], **args)  # rights and rules are read once per transaction
        one_cell = _queries(lambda: pivot(env, "acc.lead", [("name", "=", "A1")], **args))
        nine_cells = _queries(lambda: pivot(env, "acc.lead", [], **args))
    assert one_cell == nine_cells
    assert nine_cells <= 3  # the grouped query, the users' order, their names


def test_csv_export_has_headers_cells_and_totals_and_quotes_formula_text(world):
    registry, uid = world
    with registry.transaction() as env:
        env["acc.lead"].search([("name", "=", "M1")]).write({"stage": "lost"})
        env["res.users"].browse(uid["m"]).write({"name": '=HYPERLINK("x")'})
    with registry.transaction(uid=uid["m"]) as env:
        table = pivot(
            env, "acc.lead", [], rows=["user_id"], cols=["stage"], measures=["expected_revenue"]
        )
    text = table.to_csv().decode("utf-8")
    assert text.startswith("\ufeff")
    lines = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert lines[0] == ["Salesman", "New", "Won", "Lost", "Total"]
    assert lines[1] == [
        "",
        "Expected revenue",
        "Expected revenue",
        "Expected revenue",
        "Expected revenue",
    ]
    # Users come in their model's order (by name): "=" sorts before letters.
    assert lines[2] == ['\'=HYPERLINK("x")', "", "", "1000.01", "1000.01"]
    assert lines[3] == ["Anna", "250.50", "100.00", "", "350.50"]
    assert lines[-1] == ["Total", "750.50", "140.00", "1000.34", "1890.84"]


def test_xlsx_export_keeps_numbers_as_numbers_and_text_as_text(world):
    registry, uid = world
    with registry.transaction() as env:
        env["res.users"].browse(uid["b"]).write({"name": "=1+1"})
    with registry.transaction(uid=uid["m"], context={"lang": "ru"}) as env:
        table = pivot(
            env,
            "acc.lead",
            [],
            rows=["user_id"],
            cols=["stage"],
            measures=["__count", "expected_revenue"],
        )
    book = load_workbook(io.BytesIO(table.to_xlsx("Сделки: сводная / 2026")))
    sheet = book.active
    assert sheet.title == "Сделки_ сводная _ 2026"
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0][0] == "Salesman"  # the fixture addon has no Russian catalog
    assert rows[0][-2] == "Итого"
    assert rows[1][1] == "Количество"
    boris = next(r for r in rows if r[0] == "'=1+1")
    assert sheet.cell(row=rows.index(boris) + 1, column=1).data_type == "s"
    assert rows[-1][0] == "Итого"
    assert rows[-1][-2:] == [7, pytest.approx(1890.84)]
    assert isinstance(rows[2][1], int)
    count, revenue = table.measures
    assert table.format(table.total[1], revenue, "RUB").replace("\u00a0", " ") == "1 890,84 ₽"
    assert table.format(table.total[0], count) == "7"


def test_graph_with_many_series_keeps_the_largest_and_adds_up_the_rest_as_other(world):
    registry, uid = world
    with registry.transaction() as env:
        env["acc.lead"].create(
            [
                {
                    "name": f"C{i}",
                    "user_id": uid["m"],
                    "partner_name": f"Клиент {i:02d}",
                    "stage": "won" if i % 2 else "new",
                    "expected_revenue": 10 * (i + 1),
                }
                for i in range(14)
            ]
        )
    domain = [("name", "like", "C")]
    with registry.transaction(uid=uid["m"], context={"lang": "ru"}) as env:
        graph = graph_data(
            env, "acc.lead", domain, ["stage", "partner_name"], "expected_revenue", "sum"
        )
        svg = graph.svg("bar", lang="ru", currency="RUB", stacked=True)
    names = [name for name, _values in graph.series]
    assert len(names) == 10 and names[-1] == "Прочее"
    # The nine largest clients (13 down to 5) are kept in their own order.
    assert names[:-1] == [f"Клиент {i:02d}" for i in range(5, 14)]
    other = graph.series[-1][1]
    assert other == [Decimal(10 + 30 + 50), Decimal(20 + 40)]  # clients 0, 2, 4 | 1, 3
    for index, stage_total in enumerate(
        [
            Decimal(sum(10 * (i + 1) for i in range(0, 14, 2))),
            Decimal(sum(10 * (i + 1) for i in range(1, 14, 2))),
        ]
    ):
        assert sum(v[index] or 0 for _n, v in graph.series) == stage_total
    assert "\u00a0₽" in svg


def _instants():
    """Moments around daylight-saving changes (a second before and after) and spread
    over decades, as stored: naive UTC."""
    moments = []
    for name in ("Europe/Berlin", "America/St_Johns", "Europe/Moscow"):
        for instant, _offset in offset_changes(name)[1:]:
            if 1995 <= instant.year <= 2040:
                moments += [instant - datetime.timedelta(seconds=1), instant]
    rnd = random.Random(7)
    base = datetime.datetime(1975, 1, 1)
    moments += [
        base + datetime.timedelta(seconds=rnd.randrange(75 * 365 * 86400)) for _ in range(150)
    ]
    return sorted(set(moments))


@pytest.mark.parametrize(
    "tz", ["Europe/Moscow", "Europe/Berlin", "America/St_Johns", "Asia/Kolkata"]
)
def test_datetimes_group_by_the_local_days_and_months_of_the_context_time_zone(
    install, db_kind, tz
):
    registry = install("fx_access")
    moments = _instants()
    with registry.transaction() as env:
        env["acc.lead"].create([{"name": m.isoformat(" ")} for m in moments])
        cast = "CAST(name AS TIMESTAMP)" if db_kind == "postgresql" else "name"
        registry.db.execute_sql(f"UPDATE acc_lead SET create_date = {cast}")
    zone = ZoneInfo(tz)
    local = [m.replace(tzinfo=datetime.UTC).astimezone(zone).replace(tzinfo=None) for m in moments]
    with registry.transaction(context={"tz": tz}) as env:
        days = pivot(env, "acc.lead", [], rows=["create_date:day"])
        months = pivot(env, "acc.lead", [], rows=["create_date:month"])
        weeks = pivot(env, "acc.lead", [], rows=["create_date:week"])
    assert {h.key[0]: days.row_totals[h.key][0] for h in days.row_headers} == Counter(
        m.date() for m in local
    )
    assert {h.key[0]: months.row_totals[h.key][0] for h in months.row_headers} == Counter(
        m.date().replace(day=1) for m in local
    )
    assert {h.key[0]: weeks.row_totals[h.key][0] for h in weeks.row_headers} == Counter(
        m.date() - datetime.timedelta(days=m.weekday()) for m in local
    )


def test_an_unknown_time_zone_is_a_clear_error(world):
    registry, uid = world
    with registry.transaction(uid=uid["m"], context={"tz": "Mars/Olympus"}) as env:
        with pytest.raises(DomainError, match="unknown time zone 'Mars/Olympus'"):
            pivot(env, "acc.lead", [], rows=["create_date:day"])
        # Dates have no time of day: the zone does not apply to them.
        assert pivot(env, "acc.lead", [], rows=["date_deadline:year"]).total == [len(LEADS)]


def test_float_and_integer_measures_total_like_a_direct_computation(install):
    registry = install("fx_orm")
    quantities = {"A": [1.0, 2.0, 2.0], "B": [0.1, 0.2]}
    with registry.transaction() as env:
        partner = env["orm.partner"].create({"name": "Acme"})
        for product, values in quantities.items():
            env["orm.order"].create(
                {
                    "name": product,
                    "partner_id": partner.id,
                    "line_ids": [(0, 0, {"product": product, "quantity": q}) for q in values],
                }
            )
    with registry.transaction() as env:
        table = pivot(
            env,
            "orm.order.line",
            [],
            rows=["product"],
            measures=["quantity", "quantity:avg"],
        )
        orders = pivot(env, "orm.order", [], rows=["name"], measures=["line_count:avg"])
    assert [h.label for h in table.row_headers] == ["A", "B"]
    assert table.row_totals[("A",)] == [5.0, pytest.approx(5 / 3)]
    assert table.row_totals[("B",)] == [pytest.approx(0.3), pytest.approx(0.15)]
    assert table.total == [pytest.approx(5.3), pytest.approx(5.3 / 5)]
    assert orders.total == [2.5]
    lines = list(csv.reader(io.StringIO(table.to_csv().decode("utf-8").lstrip("\ufeff"))))
    assert lines[2] == ["A", "5", "1.666667"]
    assert lines[3] == ["B", "0.3", "0.15"]


def _assert_drill_down_counts(env, table):
    """Every cell, row, column and the grand total: its domain lists exactly its records."""
    Lead = env["acc.lead"]
    for row in table.row_headers or [Header((), ())]:
        for col in table.col_headers or [Header((), ())]:
            cell = table.cell(row.key, col.key) if row.key and col.key else None
            if cell:
                assert Lead.search_count(table.cell_domain(row.key, col.key)) == cell[0]
        if row.key:
            assert Lead.search_count(table.cell_domain(row.key)) == table.row_totals[row.key][0]
    for col in table.col_headers:
        assert Lead.search_count(table.cell_domain((), col.key)) == table.col_totals[col.key][0]
    assert Lead.search_count(table.cell_domain()) == table.total[0]


@pytest.mark.parametrize(
    ("rows", "cols"),
    [
        (["user_id"], ["stage"]),
        (["date_deadline:week"], ["stage"]),
        (["date_deadline:quarter", "user_id"], ["date_deadline:year"]),
    ],
)
def test_each_cell_and_total_opens_exactly_its_records(world, rows, cols):
    registry, uid = world
    with registry.transaction(uid=uid["m"]) as env:
        domain = [("name", "!=", "B3")]
        table = pivot(env, "acc.lead", domain, rows=rows, cols=cols)
        assert table.total == [len(LEADS) - 1]
        _assert_drill_down_counts(env, table)


def test_local_days_open_the_records_of_that_local_day(world):
    registry, uid = world
    moments = {
        "A1": datetime.datetime(2026, 3, 28, 22, 59, 59),  # Berlin 23:59:59 on the 28th
        "A2": datetime.datetime(2026, 3, 28, 23, 0, 0),  # Berlin midnight, the 29th
        "B1": datetime.datetime(2026, 3, 29, 21, 59, 59),  # summer time: 23:59:59
        "B2": datetime.datetime(2026, 3, 29, 22, 0, 0),  # the 30th
    }
    with registry.transaction() as env:
        table = env["acc.lead"]._table
        for name, moment in moments.items():
            table.update(create_date=moment).where(table.name == name).execute()
    with registry.transaction(uid=uid["m"], context={"tz": "Europe/Berlin"}) as env:
        domain = [("name", "in", list(moments))]
        days = pivot(env, "acc.lead", domain, rows=["create_date:day"], cols=["user_id"])
        assert [(h.key[0].day, days.row_totals[h.key][0]) for h in days.row_headers] == [
            (28, 1),
            (29, 2),
            (30, 1),
        ]
        _assert_drill_down_counts(env, days)


# -- subtotals of nested groupings --------------------------------------------------------------

NESTED = dict(
    rows=["user_id", "stage"],
    cols=["date_deadline:year", "date_deadline:quarter"],
    measures=["__count", "expected_revenue:sum", "expected_revenue:avg"],
)
QUARTERS = {
    "2025-12-29": (2025, 4),
    "2025-12-31": (2025, 4),
    "2026-01-04": (2026, 1),
    "2026-01-05": (2026, 1),
    "2026-01-06": (2026, 1),
    "2026-03-31": (2026, 1),
    "2026-04-01": (2026, 2),
    None: (None, None),
}


@pytest.fixture
def nested(world):
    """The leads and one more of Boris's, so that his "New" has two values: an average of
    averages would then differ from the average of his records."""
    registry, uid = world
    with registry.transaction() as env:
        env["acc.lead"].create(
            {
                "name": "B4",
                "user_id": uid["b"],
                "stage": "new",
                "expected_revenue": "100.00",
                "date_deadline": "2026-01-06",
            }
        )
    return registry, uid, [*LEADS, ("B4", "b", "new", "100.00", "2026-01-06")]


def _direct(leads, row=(), col=()):
    """Count, sum and average of the leads in a row and column prefix, from the data."""
    chosen = [
        r for r in leads if (r[1], r[2])[: len(row)] == row and QUARTERS[r[4]][: len(col)] == col
    ]
    valued = [Decimal(r[3]) for r in chosen if r[3] is not None]
    average = (sum(valued) / len(valued)).quantize(Decimal("0.01")) if valued else None
    return [len(chosen), sum(valued, Decimal("0.00")), average]


def _plain(uid, row_key, col_key):
    """A row and column key with users as logins and years/quarters as numbers."""
    logins = {value: login for login, value in uid.items()}
    row = tuple(logins.get(k, k) if i == 0 else k for i, k in enumerate(row_key))
    col = tuple(
        k.year if i == 0 and k else ((k.month - 1) // 3 + 1 if k else None)
        for i, k in enumerate(col_key)
    )
    return row, col


def test_subtotals_of_two_row_and_two_column_levels_are_exact(nested):
    registry, uid, leads = nested
    with registry.transaction(uid=uid["m"]) as env:
        table = pivot(env, "acc.lead", [], **NESTED)
        # The database's own averages at the outer levels, to compare with.
        outer = env["acc.lead"].read_group(
            [], ["user_id", "date_deadline:year"], ["__count", "expected_revenue:avg"]
        )
    rows, cols = table.row_lines(), table.col_lines()
    # Rows: Anna's subtotal, her stages; Boris's...; the stages in their declared order.
    assert [(r.label, r.level, r.subtotal) for r in rows] == [
        ("Anna", 0, True),
        ("New", 1, False),
        ("Won", 1, False),
        ("Boris", 0, True),
        ("New", 1, False),
        ("Won", 1, False),
        ("Lost", 1, False),
        ("Maria", 0, True),
        ("Won", 1, False),
    ]
    # Columns: a year's quarters, then its total; the grand total last.
    assert [(c.labels, c.subtotal) for c in cols] == [
        (("2025", "Q4 2025"), False),
        (("2025",), True),
        (("2026", "Q1 2026"), False),
        (("2026", "Q2 2026"), False),
        (("2026",), True),
        (("Undefined", "Undefined"), False),
        (("Undefined",), True),
        ((), True),
    ]
    checked = 0
    for row in [*rows, None]:
        for col in cols:
            row_key = row.key if row else ()
            got = table.value(row_key, col.key)
            expected = _direct(leads, *_plain(uid, row_key, col.key))
            assert (got or [0, Decimal("0.00"), None]) == expected, (row, col)
            checked += 1
    assert checked == 10 * 8
    boris, y2026 = (uid["b"],), (datetime.date(2026, 1, 1),)
    # Boris in 2026: B1 500, B4 100, B2 40, B3 0.33 -> 640.33 / 4; an average of his
    # stages' averages would be (300 + 40 + 0.33) / 3 = 113.44.
    assert table.value(boris, y2026) == [4, Decimal("640.33"), Decimal("160.08")]
    assert table.value(boris, ()) == [4, Decimal("640.33"), Decimal("160.08")]
    assert table.value((uid["a"],), (datetime.date(2025, 1, 1),)) == [
        2,
        Decimal("350.50"),
        Decimal("175.25"),
    ]
    # 2026 for everyone: Q1 (500, 100, 40) and Q2 (0.33); not (213.33 + 0.33) / 2.
    assert table.value((), y2026) == [5, Decimal("640.33"), Decimal("160.08")]
    assert table.value((uid["b"], "new"), y2026) == [2, Decimal("600.00"), Decimal("300.00")]
    assert table.total == [8, Decimal("1990.84"), Decimal("284.41")]
    for group in outer:
        key = ((group["user_id"][0],), (group["date_deadline:year"],))
        count, _total, average = table.value(*key)
        assert count == group["__count"]
        database = group["expected_revenue:avg"]
        assert average == (
            None if database is None else Decimal(str(database)).quantize(Decimal("0.01"))
        )


def test_salesman_sees_subtotals_of_his_own_records_only(nested):
    registry, uid, leads = nested
    spec = dict(NESTED, rows=["stage", "user_id"])
    with registry.transaction(uid=uid["a"]) as env:
        table = pivot(env, "acc.lead", [], **spec)
    own = [r for r in leads if r[1] == "a"]
    assert [(r.label, r.subtotal) for r in table.row_lines()] == [
        ("New", True),
        ("Anna", False),
        ("Won", True),
        ("Anna", False),
    ]
    # "New" holds A2 and A3 for Anna (Boris's B1 and B4 are not hers).
    assert table.value(("new",), ()) == [2, Decimal("250.50"), Decimal("250.50")]
    assert table.value(("new",), (datetime.date(2026, 1, 1),)) == [1, Decimal("0.00"), None]
    assert table.value((), (datetime.date(2025, 1, 1),)) == [
        2,
        Decimal("350.50"),
        Decimal("175.25"),
    ]
    assert table.total == [len(own), _direct_sum(own), Decimal("175.25")]
    with registry.transaction(uid=uid["m"]) as env:
        assert pivot(env, "acc.lead", [], **spec).value(("new",), ())[0] == 4


def test_number_of_queries_does_not_grow_with_the_number_of_subtotals(nested):
    registry, uid, _leads = nested
    with registry.transaction() as env:
        salesmen = env["res.users"].create(
            [{"name": f"S{i:02d}", "login": f"s{i}"} for i in range(12)]
        )
        env["acc.lead"].create(
            [
                {
                    "name": f"N{i}",
                    "user_id": salesmen[i % 12].id,
                    "stage": ("new", "won", "lost")[i % 3],
                    "expected_revenue": i,
                    "date_deadline": datetime.date(2020 + i % 5, 1 + i % 12, 1),
                }
                for i in range(240)
            ]
        )
    with registry.transaction(uid=uid["m"]) as env:
        pivot(env, "acc.lead", [], **NESTED)  # rights and rules are read once per transaction
        few_table = pivot(env, "acc.lead", [("name", "=", "A1")], **NESTED)
        many_table = pivot(env, "acc.lead", [], **NESTED)
        few = _queries(lambda: pivot(env, "acc.lead", [("name", "=", "A1")], **NESTED))
        many = _queries(lambda: pivot(env, "acc.lead", [], **NESTED))
    assert len(few_table.values) < 10 < 300 < len(many_table.values)
    assert few == many <= 3  # the grouped query, the users' order, their names


def test_csv_export_has_subtotal_rows_and_columns(nested):
    registry, uid, _leads = nested
    with registry.transaction(uid=uid["m"]) as env:
        table = pivot(
            env,
            "acc.lead",
            [("user_id", "!=", uid["m"])],
            rows=["user_id", "stage"],
            cols=["date_deadline:year", "date_deadline:quarter"],
            measures=["expected_revenue"],
        )
    lines = list(csv.reader(io.StringIO(table.to_csv().decode("utf-8").lstrip("\ufeff"))))
    assert lines == [
        ["Salesman / Stage", "", "2025", "2025", "2026", "2026", "2026", "Total"],
        ["", "", "Q4 2025", "Total", "Q1 2026", "Q2 2026", "Total", ""],
        ["", ""] + ["Expected revenue"] * 6,
        ["Anna", "Total", "350.50", "350.50", "0.00", "", "0.00", "350.50"],
        ["Anna", "New", "250.50", "250.50", "0.00", "", "0.00", "250.50"],
        ["Anna", "Won", "100.00", "100.00", "", "", "", "100.00"],
        ["Boris", "Total", "", "", "640.00", "0.33", "640.33", "640.33"],
        ["Boris", "New", "", "", "600.00", "", "600.00", "600.00"],
        ["Boris", "Won", "", "", "40.00", "", "40.00", "40.00"],
        ["Boris", "Lost", "", "", "", "0.33", "0.33", "0.33"],
        ["Total", "", "350.50", "350.50", "640.00", "0.33", "640.33", "990.83"],
    ]


def test_xlsx_export_has_bold_subtotals_in_russian(nested):
    registry, uid, _leads = nested
    with registry.transaction(uid=uid["m"], context={"lang": "ru"}) as env:
        table = pivot(env, "acc.lead", [], **NESTED)
    sheet = load_workbook(io.BytesIO(table.to_xlsx())).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    # The fixture addon has no Russian catalog for its own field labels.
    assert rows[0][:6] == ["Salesman / Стадия", None, "2025", None, None, "2025"]
    assert rows[1][2:9:3] == ["4-й кв. 2025", "Итого", "1-й кв. 2026"]
    assert rows[0][-3] == "Итого" and rows[1][-3] is None
    boris = next(i for i, r in enumerate(rows) if r[:2] == ["Boris", "Итого"])
    assert [r[:2] for r in rows[boris + 1 : boris + 4]][1:] == [["Boris", "Won"], ["Boris", "Lost"]]
    assert rows[boris][-3:] == [4, pytest.approx(640.33), pytest.approx(160.08)]
    assert sheet.cell(row=boris + 1, column=5).font.b  # a subtotal row
    assert sheet.cell(row=boris + 2, column=3).font.b is False  # an inner row's cell
    assert sheet.cell(row=boris + 2, column=6).font.b  # a year's subtotal column
    assert rows[-1][0] == "Итого" and rows[-1][-3:] == [
        8,
        pytest.approx(1990.84),
        pytest.approx(284.41),
    ]
