"""The order of a pivot's rows and columns with subtotals of nested groupings.

Rows read as in Odoo: an outer group's line carries its subtotal and its inner rows follow,
indented. Columns put an outer group's inner columns first, then its subtotal column (like
the grand total column at the end). Values come from ``PivotTable.value(row, col)``."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class Line:
    """A row or column of the table: a group (``key`` as long as the groupings), a subtotal
    of an outer group (a shorter ``key``) or the grand total (``key == ()``)."""

    key: tuple
    labels: tuple
    subtotal: bool

    @property
    def level(self) -> int:
        """The nesting depth: 0 for the outermost groups."""
        return max(len(self.key) - 1, 0)

    @property
    def label(self) -> str:
        """The line's own label (the innermost of its groups)."""
        return self.labels[-1] if self.labels else ""


@dataclass(frozen=True)
class HeaderCell:
    """One ``<th>`` of the column headers: a group, or a total spanning the lower rows."""

    label: str
    colspan: int
    rowspan: int = 1
    total: bool = False


def _prefixed(headers, depth: int) -> list[tuple[tuple, tuple, bool]]:
    """(key, labels, subtotal) in header order, with a line for each outer group before its
    first inner header (pre-order)."""
    lines, seen = [], set()
    for header in headers:
        for length in range(1, depth):
            prefix = header.key[:length]
            if prefix not in seen:
                seen.add(prefix)
                lines.append((prefix, header.labels[:length], True))
        lines.append((header.key, header.labels, False))
    return lines


def row_lines(table) -> list[Line]:
    """Each outer group's subtotal line, then its inner rows (no grand total: the table
    shows it in its footer)."""
    return [
        Line(k, labels, sub) for k, labels, sub in _prefixed(table.row_headers, len(table.rows))
    ]


def col_lines(table) -> list[Line]:
    """Inner columns, then their outer group's subtotal column (post-order); the grand
    total column last."""
    depth = len(table.cols)
    ordered = _prefixed(table.col_headers, depth)
    lines, open_groups = [], []
    for key, labels, subtotal in ordered:
        # Close the outer groups this line is no longer inside of, innermost first.
        while open_groups and key[: len(open_groups[-1].key)] != open_groups[-1].key:
            lines.append(open_groups.pop())
        if subtotal:
            open_groups.append(Line(key, labels, True))
        else:
            lines.append(Line(key, labels, False))
    lines += reversed(open_groups)
    lines.append(Line((), (), True))
    return lines


def col_header_rows(table, total_label: str) -> list[list[HeaderCell]]:
    """One header row per column grouping (at least one): a group spans its inner columns
    and its subtotal column; a subtotal's "Total" spans the rows below its group."""
    width = len(table.measures)
    depth = max(len(table.cols), 1)
    lines = col_lines(table)
    spans = Counter(line.key[:length] for line in lines for length in range(1, len(line.key) + 1))
    rows: list[list[HeaderCell]] = [[] for _ in range(depth)]
    started = set()
    for line in lines:
        if line.subtotal:
            level = len(line.key)
            rows[level].append(HeaderCell(total_label, width, depth - level, True))
            outer = level
        else:
            outer = len(line.key)
        for index in range(outer):
            prefix = line.key[: index + 1]
            if prefix in started:
                continue
            started.add(prefix)
            rows[index].append(HeaderCell(line.labels[index], spans[prefix] * width))
    return rows


__all__ = ["HeaderCell", "Line", "col_header_rows", "col_lines", "row_lines"]
