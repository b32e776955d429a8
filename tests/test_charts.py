"""SVG charts: well-formed standalone documents, escaped text, every kind, awkward data."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest

from core.formatting import format_money
from core.reporting import charts

NS = {"s": "http://www.w3.org/2000/svg"}
SCRIPT = "<script>alert(1)</script>"
LONG = "Предложение отправлено клиенту на согласование с юристами"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("viewBox") == f"0 0 {charts.WIDTH} {charts.HEIGHT}"
    return root


def texts(root) -> list[str]:
    """Visible text of the <text> elements (without their <title> hints)."""
    return [
        (t.text or "") + "".join(c.tail or "" for c in t) for t in root.iter(f"{{{NS['s']}}}text")
    ]


def hovers(root, tag) -> list[str]:
    return [
        e.find("s:title", NS).text
        for e in root.iter(f"{{{NS['s']}}}{tag}")
        if e.find("s:title", NS) is not None
    ]


def money(value):
    return format_money(value, "RUB", "ru")


@pytest.mark.parametrize("kind", charts.KINDS)
def test_every_kind_is_a_standalone_svg_with_title_and_hover_values(kind):
    svg = charts.render(
        kind,
        ["Новый", "Выигран"],
        [Decimal("1500.50"), Decimal("700")],
        title="Выручка",
        value_format=money,
        lang="ru",
    )
    root = parse(svg)
    assert root.find("s:title", NS).text == "Выручка"
    assert "Выручка" in texts(root)
    shapes = {"bar": "rect", "line": "circle", "pie": "path", "funnel": "rect"}[kind]
    titles = " ".join(hovers(root, shapes))
    assert "Новый" in titles and "1\u00a0500,50\u00a0₽" in titles
    assert "<script" not in svg


@pytest.mark.parametrize("kind", charts.KINDS)
def test_a_script_label_renders_as_text(kind):
    svg = charts.render(kind, [SCRIPT, "b"], [3, 4], title=SCRIPT)
    root = parse(svg)
    assert not any(e.tag.endswith("script") for e in root.iter())
    assert "&lt;script&gt;" in svg
    everything = texts(root) + hovers(root, "rect") + hovers(root, "path") + hovers(root, "circle")
    assert any(SCRIPT in t or t.startswith("<script>") for t in everything)


@pytest.mark.parametrize("kind", charts.KINDS)
def test_no_rows_shows_no_data_in_the_users_language(kind):
    assert "No data" in texts(parse(charts.render(kind, [], [], title="Empty")))
    assert "Нет данных" in texts(parse(charts.render(kind, [], [], lang="ru")))


@pytest.mark.parametrize("kind", charts.KINDS)
def test_one_row_draws_one_mark(kind):
    root = parse(charts.render(kind, ["Only"], [Decimal("5")]))
    shape = {"bar": "rect", "line": "circle", "pie": "circle", "funnel": "rect"}[kind]
    assert len(hovers(root, shape)) == 1


def _zero_line_y(root) -> float:
    return next(
        float(line.get("y1"))
        for line in root.iter(f"{{{NS['s']}}}line")
        if line.get("stroke") == "#999"
    )


def _bars(root):
    return [r for r in root.iter(f"{{{NS['s']}}}rect") if r.find("s:title", NS) is not None]


def test_negative_bars_hang_below_the_zero_line():
    root = parse(charts.bar_chart(["up", "down"], [10, -4]))
    zero = _zero_line_y(root)
    up, down = _bars(root)
    assert float(up.get("y")) + float(up.get("height")) == pytest.approx(zero, abs=0.1)
    assert float(down.get("y")) == pytest.approx(zero, abs=0.1)
    assert float(up.get("height")) == pytest.approx(2.5 * float(down.get("height")), rel=0.05)
    assert any(t.startswith("-") for t in texts(root))  # the axis goes below zero


def test_second_grouping_is_side_by_side_or_stacked_with_a_legend():
    data = {"Анна": [1, 2], "Борис": [3, -1]}
    grouped = parse(charts.bar_chart(["Q1", "Q2"], data))
    stacked = parse(charts.bar_chart(["Q1", "Q2"], data, stacked=True))
    for root in (grouped, stacked):
        assert {"Анна", "Борис"} <= set(texts(root))
        assert len(_bars(root)) == 4
    grouped_x = {float(r.get("x")) for r in _bars(grouped)}
    stacked_x = {float(r.get("x")) for r in _bars(stacked)}
    assert len(grouped_x) == 4 and len(stacked_x) == 2
    anna_q1, boris_q1 = (r for r in _bars(stacked) if "Q1" in r.find("s:title", NS).text)
    # Boris's part sits on top of Anna's.
    assert float(boris_q1.get("y")) + float(boris_q1.get("height")) == pytest.approx(
        float(anna_q1.get("y")), abs=0.1
    )


def test_two_hundred_rows_keep_every_bar_but_thin_out_the_axis_labels():
    labels = [f"Клиент {i}" for i in range(200)]
    root = parse(charts.bar_chart(labels, list(range(200))))
    assert len(_bars(root)) == 200
    shown = [t for t in texts(root) if t.startswith("Клиент")]
    assert 10 <= len(shown) < 60
    assert all(any(f"{label}:" in h for h in hovers(root, "rect")) for label in labels[::37])


def test_long_cyrillic_labels_are_cut_with_an_ellipsis_and_kept_whole_in_a_title():
    root = parse(charts.bar_chart([LONG, "Выигран"], [1, 2]))
    label = next(t for t in root.iter(f"{{{NS['s']}}}text") if t.find("s:title", NS) is not None)
    assert label.find("s:title", NS).text == LONG
    visible = label.find("s:title", NS).tail
    assert visible.endswith("…") and LONG.startswith(visible[:-1]) and len(visible) < len(LONG)


def test_missing_values_break_the_line():
    root = parse(charts.line_chart(["a", "b", "c", "d", "e"], {"s": [1, 2, None, 4, 5]}))
    lines = list(root.iter(f"{{{NS['s']}}}polyline"))
    assert [len(p.get("points").split()) for p in lines] == [2, 2]
    assert len(hovers(root, "circle")) == 4


def test_pie_merges_small_slices_into_other_and_names_left_out_values():
    labels = [f"P{i}" for i in range(20)]
    values = [100] + [1] * 17 + [0, -5]
    root = parse(charts.pie_chart(labels, values, lang="ru"))
    slices = hovers(root, "path")
    assert len(slices) == charts.PIE_SLICES
    assert any(s.startswith("Прочее: 7") for s in slices)
    assert any("P0: 100 (" in s for s in slices)
    assert any("не показаны: 2" in t for t in texts(root))


def test_funnel_stage_widths_follow_their_values_with_share_of_the_first():
    root = parse(charts.funnel_chart(["Лиды", "Встречи", "Сделки"], [200, 100, 50], lang="en"))
    widths = [float(r.get("width")) for r in _bars(root)]
    assert widths[0] == pytest.approx(2 * widths[1], rel=0.01)
    assert widths[1] == pytest.approx(2 * widths[2], rel=0.01)
    assert "50 (25.0%)" in texts(root)


def test_characters_xml_cannot_hold_are_dropped():
    root = parse(charts.bar_chart(["a\x00b\x1fc"], [1], title="t\x0b"))
    assert "abc:" in hovers(root, "rect")[0]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: charts.bar_chart(["a", "b"], [1]), "has 1 values for 2 labels"),
        (lambda: charts.line_chart(["a"], {"s": ["x"]}), "must be numbers"),
        (lambda: charts.pie_chart(["a"], [float("inf")]), "finite"),
        (lambda: charts.render("radar", ["a"], [1]), "unknown chart kind 'radar'"),
    ],
)
def test_bad_input_is_a_clear_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_the_same_svg_goes_into_a_pdf():
    weasyprint = pytest.importorskip("weasyprint", reason="weasyprint renders PDFs")
    svg = charts.bar_chart(["Новый", SCRIPT], [Decimal("10"), Decimal("-3")], title="Отчёт")
    page = "<html><meta charset='utf-8'><body><h1>{}</h1>{}</body></html>"
    with_chart = weasyprint.HTML(string=page.format("x", svg)).write_pdf()
    without = weasyprint.HTML(string=page.format("x", "")).write_pdf()
    assert with_chart.startswith(b"%PDF")
    assert len(with_chart) > len(without) + 1000


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (
            -15000,
            300000,
            ["-50000", "0", "50000", "100000", "150000", "200000", "250000", "300000"],
        ),
        (0, 5, ["0", "1", "2", "3", "4", "5"]),
        (-3, -1, ["-3", "-2", "-1", "0"]),
        (0, 1.7, ["0.00", "0.25", "0.50", "0.75", "1.00", "1.25", "1.50", "1.75"]),
        (0, 0, ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]),
    ],
)
def test_axis_ticks_are_round_numbers_from_zero_covering_the_data(low, high, expected):
    assert [str(t) for t in charts.nice_ticks(low, high)] == expected


def test_other_slice_adds_up_mixed_number_types():
    values = [10] * 11 + [Decimal("1.5"), 2.25, 1]
    root = parse(charts.pie_chart([f"S{i}" for i in range(14)], values))
    assert any(s.startswith("Other: 4.75 (") for s in hovers(root, "path"))


def test_a_single_bar_is_not_a_slab_across_the_chart():
    (bar,) = _bars(parse(charts.bar_chart(["Only"], [5])))
    assert float(bar.get("width")) <= 60
    middle = float(bar.get("x")) + float(bar.get("width")) / 2
    assert charts.WIDTH * 0.4 < middle < charts.WIDTH * 0.7


def test_slanted_axis_labels_stay_inside_the_chart():
    labels = [LONG] + [f"Клиент {i}" for i in range(59)]
    root = parse(charts.line_chart(labels, [1] * 60))
    first = next(t for t in root.iter(f"{{{NS['s']}}}text") if t.get("transform"))
    shown = first.find("s:title", NS).tail
    reach = len(shown) * charts.CHAR_W * 0.71
    assert float(first.get("x")) - reach >= 0
