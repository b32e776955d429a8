"""Server-rendered SVG charts (bar, line, pie, funnel) for web pages and PDFs alike."""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from core.formatting import format_number
from core.i18n import translate

KINDS = ("bar", "line", "pie", "funnel")
WIDTH, HEIGHT = 640, 400
FONT = 11
# Average advance of a glyph of an 11px sans-serif font, Cyrillic included: enough to
# decide what fits without measuring text (no font files are read on the server).
CHAR_W = FONT * 0.65
PALETTE = (
    "#3b6fb6",
    "#e8853a",
    "#4aa564",
    "#d2474f",
    "#8a63b8",
    "#8c6b55",
    "#d873b5",
    "#7f7f7f",
    "#b5b834",
    "#36b5c4",
    "#c9a227",
    "#5c6bc0",
)
OTHER_COLOR = "#b0b0b0"
PIE_SLICES = 12
FUNNEL_STAGES = 30
LABEL_CHARS = 18
LEGEND_CHARS = 24
# Characters XML 1.0 forbids even when escaped: they would make the document unreadable.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Series:
    """One named row of values, one per label (``None`` = no value)."""

    name: str
    values: tuple


def _esc(value) -> str:
    """Text for SVG content or attributes: markup escaped, characters XML cannot hold removed."""
    return html.escape(_XML_INVALID.sub("", _text(value)), quote=True)


def _text(value) -> str:
    return "—" if value is None else str(value)


def _truncate(text: str, limit: int) -> str:
    limit = max(limit, 2)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _n(number: float) -> str:
    """A coordinate with one decimal at most (short, stable output)."""
    text = f"{number:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _number(value) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError(f"chart values must be numbers, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"chart values must be finite numbers, got {value!r}")
    return number


def normalize_series(labels: Sequence, series) -> list[Series]:
    """Accept a list of numbers (one unnamed series), ``(name, values)`` pairs, a mapping
    ``{name: values}`` or ``Series``; every series needs one value per label."""
    if isinstance(series, Mapping):
        items = list(series.items())
    elif series and all(v is None or isinstance(v, int | float | Decimal) for v in series):
        items = [("", series)]
    else:
        items = [(s.name, s.values) if isinstance(s, Series) else tuple(s) for s in series or ()]
    result = []
    for item in items:
        if len(item) != 2:
            raise ValueError(f"a series is (name, values), got {item!r}")
        name, values = item
        values = tuple(values)
        if len(values) != len(labels):
            raise ValueError(
                f"series {_text(name)!r} has {len(values)} values for {len(labels)} labels"
            )
        for value in values:
            _number(value)
        result.append(Series("" if name is None else str(name), values))
    return result


class _Canvas:
    """Collects SVG elements and wraps them in a standalone document."""

    def __init__(self, kind: str, title: str, width=WIDTH, height=HEIGHT):
        self.kind, self.title = kind, title
        self.width, self.height = width, height
        self.parts: list[str] = []

    def add(self, text: str):
        self.parts.append(text)

    def text(
        self,
        x,
        y,
        content,
        *,
        anchor="start",
        size=FONT,
        weight=None,
        full=None,
        rotate=None,
        fill="#333",
    ):
        attrs = f'x="{_n(x)}" y="{_n(y)}" font-size="{size}" fill="{fill}"'
        if anchor != "start":
            attrs += f' text-anchor="{anchor}"'
        if weight:
            attrs += f' font-weight="{weight}"'
        if rotate is not None:
            attrs += f' transform="rotate({rotate} {_n(x)} {_n(y)})"'
        hint = f"<title>{_esc(full)}</title>" if full is not None and full != content else ""
        self.add(f"<text {attrs}>{hint}{_esc(content)}</text>")

    def svg(self) -> str:
        head = (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {self.width} {self.height}" '
            f'width="100%" preserveAspectRatio="xMidYMid meet" role="img" '
            f'class="kontora-chart kontora-chart-{self.kind}" '
            f'font-family="DejaVu Sans, Arial, Helvetica, sans-serif">'
        )
        title = f"<title>{_esc(self.title)}</title>" if self.title else ""
        return head + title + "".join(self.parts) + "</svg>"


def _start(kind, title, height=HEIGHT) -> tuple[_Canvas, float]:
    """A canvas with the visible title; returns it and the first free y."""
    canvas = _Canvas(kind, title, height=height)
    canvas.add(f'<rect width="{WIDTH}" height="{height}" fill="#fff"/>')
    if not title:
        return canvas, 8
    canvas.text(
        WIDTH / 2, 22, _truncate(title, 80), anchor="middle", size=14, weight="bold", full=title
    )
    return canvas, 34


def _empty(canvas: _Canvas, top: float, lang) -> str:
    canvas.text(
        WIDTH / 2,
        (top + canvas.height) / 2,
        translate("No data", lang),
        anchor="middle",
        size=14,
        fill="#777",
    )
    return canvas.svg()


def _legend(canvas: _Canvas, names: Sequence[str], top: float) -> float:
    """Swatches and names in rows under the title; returns the y below the legend."""
    x, y = 12.0, top + 4
    for index, name in enumerate(names):
        shown = _truncate(name or "—", LEGEND_CHARS)
        width = 18 + len(shown) * CHAR_W + 14
        if x + width > WIDTH - 8 and x > 12:
            x, y = 12.0, y + 18
        color = PALETTE[index % len(PALETTE)]
        canvas.add(f'<rect x="{_n(x)}" y="{_n(y)}" width="12" height="12" fill="{color}"/>')
        canvas.text(x + 17, y + 10, shown, full=name)
        x += width
    return y + 22


# -- axes -------------------------------------------------------------------------------------


def nice_ticks(low: float, high: float) -> list[Decimal]:
    """Round tick values (steps of 1, 2, 2.5, 5 × 10ⁿ) covering ``low..high`` and zero,
    4 to 8 intervals, choosing the tightest range (least empty space)."""
    low, high = min(low, 0.0), max(high, 0.0)
    if high == low:
        high = low + 1
    best = None
    for count in (5, 4, 6, 7, 8):
        ticks = _ticks(low, high, count)
        if len(ticks) <= 9 and (best is None or ticks[-1] - ticks[0] < best[-1] - best[0]):
            best = ticks
    return best or _ticks(low, high, 5)


def _ticks(low: float, high: float, count: int) -> list[Decimal]:
    raw = Decimal(repr((high - low) / count))
    exponent = raw.adjusted()
    step = Decimal(10).scaleb(exponent)
    for mantissa in ("1", "2", "2.5", "5"):
        candidate = Decimal(mantissa).scaleb(exponent)
        if candidate >= raw:
            step = candidate
            break
    start = math.floor(Decimal(repr(low)) / step) * step
    end = math.ceil(Decimal(repr(high)) / step) * step
    steps = int((end - start) / step)
    # Plain numbers (50000, 0.25), not Decimal's exponent forms (5E+4), for any formatter.
    quantum = Decimal(1).scaleb(min(step.normalize().as_tuple().exponent, 0))
    return [(start + step * i).quantize(quantum) for i in range(steps + 1)]


class _Axes:
    """The value axis on the left and the category slots along the bottom."""

    def __init__(self, canvas, top, labels, low, high, axis_format):
        self.ticks = nice_ticks(low, high)
        self.tick_texts = [axis_format(t) for t in self.ticks]
        longest = max((len(t) for t in self.tick_texts), default=1)
        self.left = min(12 + longest * CHAR_W, WIDTH / 3)
        self.labels = [_text(label) for label in labels]
        self.count = max(len(labels), 1)
        self.right = WIDTH - 12
        self.slot = (self.right - self.left) / self.count
        longest_label = max((len(t) for t in self.labels), default=1)
        fits = min(longest_label, 12) * CHAR_W + 6 <= self.slot
        self.rotated = not fits
        self.label_chars = LABEL_CHARS if self.rotated else max(int((self.slot - 6) / CHAR_W), 3)
        shown = min(longest_label, self.label_chars)
        if self.rotated:
            # The first label slants down to the left of its slot: keep it inside the chart.
            reach = min(shown * CHAR_W * 0.71 + 4, WIDTH / 4) - self.slot / 2
            if reach > self.left:
                self.left = reach
                self.slot = (self.right - self.left) / self.count
        bottom_space = (shown * CHAR_W * 0.71 + 18) if self.rotated else 22
        self.bottom = canvas.height - bottom_space
        self.top = top + 6
        self.low, self.high = float(self.ticks[0]), float(self.ticks[-1])
        # Rotated labels need ~1.6 line heights each; show every n-th so they never collide.
        per_label = FONT * 1.6 if self.rotated else self.slot
        self.every = max(1, math.ceil(self.count * per_label / (self.right - self.left)))
        self.canvas = canvas

    def y(self, value: float) -> float:
        span = self.high - self.low
        return self.bottom - (value - self.low) / span * (self.bottom - self.top)

    def x(self, index: int) -> float:
        return self.left + self.slot * (index + 0.5)

    def draw(self):
        canvas = self.canvas
        for tick, text in zip(self.ticks, self.tick_texts, strict=True):
            y = self.y(float(tick))
            stroke = "#999" if tick == 0 else "#e3e3e3"
            canvas.add(
                f'<line x1="{_n(self.left)}" y1="{_n(y)}" x2="{_n(self.right)}" y2="{_n(y)}" '
                f'stroke="{stroke}" stroke-width="1"/>'
            )
            canvas.text(self.left - 6, y + 4, text, anchor="end")
        for index, label in enumerate(self.labels):
            if index % self.every:
                continue
            shown = _truncate(label, self.label_chars)
            x = self.x(index)
            if self.rotated:
                canvas.text(x + 3, self.bottom + 12, shown, anchor="end", rotate=-45, full=label)
            else:
                canvas.text(x, self.bottom + 15, shown, anchor="middle", full=label)


def _hover(label, name, text) -> str:
    parts = [_text(label)] + ([name] if name else []) + [text]
    return _esc(": ".join([" — ".join(parts[:-1]), parts[-1]]))


# -- charts ----------------------------------------------------------------------------------


def bar_chart(
    labels, series, *, title="", value_format=None, axis_format=None, lang=None, stacked=False
) -> str:
    """Vertical bars per label; several series are grouped side by side, or ``stacked``
    (positive parts upwards, negative downwards from zero)."""
    labels = list(labels)
    data = normalize_series(labels, series)
    fmt = value_format or (lambda v: format_number(v, lang))
    canvas, top = _start("bar", title)
    if not labels or not data or all(v is None for s in data for v in s.values):
        return _empty(canvas, top, lang)
    if len(data) > 1:
        top = _legend(canvas, [s.name for s in data], top)
    numbers = [[_number(v) for v in s.values] for s in data]
    if stacked:
        ups = [sum(max(col[i] or 0, 0) for col in numbers) for i in range(len(labels))]
        downs = [sum(min(col[i] or 0, 0) for col in numbers) for i in range(len(labels))]
        low, high = min(downs), max(ups)
    else:
        flat = [v for col in numbers for v in col if v is not None]
        low, high = min(flat), max(flat)
    axes = _Axes(canvas, top, labels, low, high, axis_format or fmt)
    axes.draw()
    zero = axes.y(0)
    groups = 1 if stacked else len(data)
    # A few bars would be slabs across the whole chart: no bar is wider than 60 units.
    bar_w = min(axes.slot * (0.7 if stacked else 0.8) / groups, 60)
    for index, label in enumerate(labels):
        up = down = 0.0
        for number_index, (item, column) in enumerate(zip(data, numbers, strict=True)):
            value = column[index]
            if value is None:
                continue
            if stacked:
                base = up if value >= 0 else down
                y0, y1 = axes.y(base), axes.y(base + value)
                if value >= 0:
                    up += value
                else:
                    down += value
                x = axes.x(index) - bar_w / 2
            else:
                y0, y1 = zero, axes.y(value)
                x = axes.x(index) - bar_w * groups / 2 + bar_w * number_index
            color = PALETTE[number_index % len(PALETTE)]
            canvas.add(
                f'<rect x="{_n(x)}" y="{_n(min(y0, y1))}" width="{_n(max(bar_w, 0.5))}" '
                f'height="{_n(abs(y1 - y0))}" fill="{color}">'
                f"<title>{_hover(label, item.name, fmt(item.values[index]))}</title></rect>"
            )
    return canvas.svg()


def line_chart(labels, series, *, title="", value_format=None, axis_format=None, lang=None) -> str:
    """One line per series with a dot per value; a missing value breaks the line."""
    labels = list(labels)
    data = normalize_series(labels, series)
    fmt = value_format or (lambda v: format_number(v, lang))
    canvas, top = _start("line", title)
    if not labels or not data or all(v is None for s in data for v in s.values):
        return _empty(canvas, top, lang)
    if len(data) > 1:
        top = _legend(canvas, [s.name for s in data], top)
    numbers = [[_number(v) for v in s.values] for s in data]
    flat = [v for col in numbers for v in col if v is not None]
    axes = _Axes(canvas, top, labels, min(flat), max(flat), axis_format or fmt)
    axes.draw()
    radius = 3 if len(labels) <= 60 else 1.5
    for number_index, (item, column) in enumerate(zip(data, numbers, strict=True)):
        color = PALETTE[number_index % len(PALETTE)]
        runs, run = [], []
        for index, value in enumerate(column):
            if value is None:
                runs, run = runs + [run] if run else runs, []
            else:
                run.append(f"{_n(axes.x(index))},{_n(axes.y(value))}")
        runs += [run] if run else []
        for points in runs:
            if len(points) > 1:
                canvas.add(
                    f'<polyline points="{" ".join(points)}" fill="none" stroke="{color}" '
                    f'stroke-width="2"/>'
                )
        for index, value in enumerate(column):
            if value is None:
                continue
            canvas.add(
                f'<circle cx="{_n(axes.x(index))}" cy="{_n(axes.y(value))}" r="{radius}" '
                f'fill="{color}"><title>{_hover(labels[index], item.name, fmt(item.values[index]))}'
                f"</title></circle>"
            )
    return canvas.svg()


def _single(labels, series) -> tuple[list, list]:
    """Pie and funnel take one series: plain values or the first of several."""
    labels = list(labels)
    data = normalize_series(labels, series)
    return labels, list(data[0].values) if data else []


def _color(index: int, other=False) -> str:
    return OTHER_COLOR if other else PALETTE[index % len(PALETTE)]


def _merge_tail(labels, values, keep, lang):
    """The first ``keep - 1`` items and one "Other" item summing the rest."""
    if len(labels) <= keep:
        return labels, values, False
    rest = [v for v in values[keep - 1 :] if v is not None]
    if any(isinstance(v, float) for v in rest):
        other = sum(float(v) for v in rest)  # Decimal + float is a TypeError
    else:
        other = sum(rest, Decimal(0) if any(isinstance(v, Decimal) for v in rest) else 0)
    return labels[: keep - 1] + [translate("Other", lang)], values[: keep - 1] + [other], True


def pie_chart(labels, values, *, title="", value_format=None, lang=None) -> str:
    """Slices of the positive values, largest first (the smallest merged into "Other");
    zero and negative values cannot be slices and are named in a note."""
    labels, values = _single(labels, values)
    fmt = value_format or (lambda v: format_number(v, lang))
    canvas, top = _start("pie", title)
    items = [(lbl, v) for lbl, v in zip(labels, values, strict=True) if (_number(v) or 0) > 0]
    left_out = sum(1 for v in values if v is not None and _number(v) <= 0)
    if not items:
        return _empty(canvas, top, lang)
    items.sort(key=lambda item: -_number(item[1]))
    names, amounts, merged = _merge_tail(
        [i[0] for i in items], [i[1] for i in items], PIE_SLICES, lang
    )
    total = sum(_number(v) for v in amounts)
    bottom = canvas.height - (24 if left_out else 10)
    radius = min((bottom - top) / 2 - 4, 150)
    cx, cy = 20 + radius, top + (bottom - top) / 2
    angle = -math.pi / 2
    legend_y = top + 8
    for index, (name, amount) in enumerate(zip(names, amounts, strict=True)):
        color = _color(index, merged and index == len(names) - 1)
        share = _number(amount) / total
        percent = format_number(round(share * 100, 1), lang, digits=1) + "%"
        hover = _hover(name, "", f"{fmt(amount)} ({percent})")
        if share >= 0.9999:
            canvas.add(
                f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(radius)}" fill="{color}">'
                f"<title>{hover}</title></circle>"
            )
        else:
            end = angle + share * 2 * math.pi
            x1, y1 = cx + radius * math.cos(angle), cy + radius * math.sin(angle)
            x2, y2 = cx + radius * math.cos(end), cy + radius * math.sin(end)
            large = 1 if share > 0.5 else 0
            canvas.add(
                f'<path d="M{_n(cx)},{_n(cy)} L{_n(x1)},{_n(y1)} '
                f'A{_n(radius)},{_n(radius)} 0 {large} 1 {_n(x2)},{_n(y2)} Z" fill="{color}" '
                f'stroke="#fff" stroke-width="1"><title>{hover}</title></path>'
            )
            angle = end
        lx = cx + radius + 24
        canvas.add(f'<rect x="{_n(lx)}" y="{_n(legend_y)}" width="12" height="12" fill="{color}"/>')
        room = int((WIDTH - lx - 20) / CHAR_W)
        entry = f"{_text(name)} — {fmt(amount)} ({percent})"
        canvas.text(lx + 17, legend_y + 10, _truncate(entry, room), full=entry)
        legend_y += 20
    if left_out:
        note = translate("Zero and negative values are not shown: %(count)s", lang)
        canvas.text(12, canvas.height - 8, note % {"count": left_out}, size=10, fill="#777")
    return canvas.svg()


def funnel_chart(labels, values, *, title="", value_format=None, lang=None) -> str:
    """Stages top to bottom in the given order, each as wide as its value relative to the
    largest, with the value and its share of the first stage."""
    labels, values = _single(labels, values)
    fmt = value_format or (lambda v: format_number(v, lang))
    canvas, top = _start("funnel", title)
    if not labels or all(v is None for v in values):
        return _empty(canvas, top, lang)
    labels, values, merged = _merge_tail(labels, values, FUNNEL_STAGES, lang)
    numbers = [max(_number(v) or 0, 0) for v in values]
    largest = max(numbers) or 1
    first = numbers[0]
    label_w, value_w = WIDTH * 0.28, WIDTH * 0.24
    middle_x = label_w + (WIDTH - label_w - value_w) / 2
    full_w = WIDTH - label_w - value_w - 16
    row = min(40, (canvas.height - top - 8) / len(labels))
    for index, (label, value, number) in enumerate(zip(labels, values, numbers, strict=True)):
        y = top + row * index
        width = max(full_w * number / largest, 1)
        color = _color(index, merged and index == len(labels) - 1)
        share = format_number(round(number / first * 100, 1), lang, digits=1) + "%" if first else ""
        text = fmt(value) if value is not None else "—"
        hover = _hover(label, "", f"{text} ({share})" if share else text)
        canvas.add(
            f'<rect x="{_n(middle_x - width / 2)}" y="{_n(y + 2)}" width="{_n(width)}" '
            f'height="{_n(max(row - 4, 1))}" fill="{color}"><title>{hover}</title></rect>'
        )
        size = min(FONT, max(row - 6, 6))
        chars = int((label_w - 16) / (size * 0.6))
        canvas.text(
            label_w - 8,
            y + row / 2 + size / 3,
            _truncate(_text(label), chars),
            anchor="end",
            size=size,
            full=_text(label),
        )
        right = f"{text} ({share})" if share else text
        canvas.text(
            WIDTH - value_w + 4,
            y + row / 2 + size / 3,
            _truncate(right, int((value_w - 8) / (size * 0.6))),
            size=size,
            full=right,
        )
    return canvas.svg()


def render(
    kind: str,
    labels,
    series,
    *,
    title="",
    value_format: Callable | None = None,
    lang=None,
    stacked=False,
) -> str:
    """The chart of ``kind`` (bar, line, pie, funnel) as a standalone ``<svg>`` string."""
    if kind == "bar":
        return bar_chart(
            labels, series, title=title, value_format=value_format, lang=lang, stacked=stacked
        )
    if kind == "line":
        return line_chart(labels, series, title=title, value_format=value_format, lang=lang)
    if kind == "pie":
        return pie_chart(labels, series, title=title, value_format=value_format, lang=lang)
    if kind == "funnel":
        return funnel_chart(labels, series, title=title, value_format=value_format, lang=lang)
    raise ValueError(f"unknown chart kind {kind!r}: expected one of {', '.join(KINDS)}")


__all__ = ["KINDS", "Series", "bar_chart", "funnel_chart", "line_chart", "pie_chart", "render"]
