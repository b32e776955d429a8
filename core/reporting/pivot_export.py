"""CSV and XLSX files of a pivot table: header rows, the rows with subtotals, the totals row."""

from __future__ import annotations

import csv
import io

from core.i18n import translate

# Text a spreadsheet would run as a formula gets an apostrophe in front (CSV and XLSX).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def grid(table, total_label: str) -> list[list]:
    """The table as rows of cells for a spreadsheet: header rows (one per column grouping,
    then the measures), the rows with a subtotal row before each outer group's inner rows
    (its labels, then ``total_label``), a totals row. Columns likewise: an outer group's
    subtotal column after its inner columns, the grand total last. Numbers stay numbers."""
    return _layout(table, total_label)[0]


def _layout(table, total_label: str):
    """The grid, the number of header rows, and the indexes of the total rows and columns."""
    width = max(len(table.rows), 1)
    count = len(table.measures)
    depth = max(len(table.cols), 1)
    measure_labels = [m.label for m in table.measures]
    col_lines = table.col_lines()
    heads = [[""] * width for _ in range(depth)]
    heads[0][0] = " / ".join(d.label for d in table.rows)
    measures_row = [""] * width
    bold_columns = set(range(width))
    for line in col_lines:
        for level, head in enumerate(heads):
            head += [_line_label(line, level, total_label)] + [""] * (count - 1)
        if line.subtotal:
            bold_columns.update(range(len(measures_row), len(measures_row) + count))
        measures_row += measure_labels
    lines = [*heads, measures_row]
    bold_rows = set(range(len(lines)))
    empty = [None] * count
    for row in table.row_lines():
        line = [_line_label(row, level, total_label) for level in range(width)]
        for col in col_lines:
            line += table.value(row.key, col.key) or empty
        if row.subtotal:
            bold_rows.add(len(lines))
        lines.append(line)
    line = [total_label] + [""] * (width - 1)
    for col in col_lines[:-1]:
        line += table.value((), col.key) or empty
    line += table.total
    bold_rows.add(len(lines))
    lines.append(line)
    return lines, bold_rows, bold_columns


def _line_label(line, level: int, total_label: str) -> str:
    """A row's (column's) label in the header column (row) ``level``: its group there, the
    total label just after a subtotal's own groups, else empty."""
    if level < len(line.labels):
        return line.labels[level]
    if line.subtotal and level == len(line.key):
        return total_label
    return ""


def to_csv(table) -> bytes:
    """UTF-8 CSV with a byte order mark (so spreadsheets read Cyrillic), ``.`` decimals."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    for line in table.grid():
        writer.writerow([_csv_value(v) for v in line])
    return out.getvalue().encode("utf-8")


def to_xlsx(table, title=None) -> bytes:
    """An XLSX workbook with the table: bold headers, subtotals and totals, numbers as
    numbers."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(_sheet_title(title or table.model))
    bold = Font(bold=True)
    width = max(len(table.rows), 1)
    count = len(table.measures)
    money_columns = {
        width + index
        for index in range(len(table.col_lines()) * count)
        if table.measures[index % count].money
    }
    lines, bold_rows, bold_columns = _layout(table, translate("Total", table.lang))
    for number, line in enumerate(lines):
        cells = []
        for column, value in enumerate(line):
            cell = WriteOnlyCell(sheet, value=_xlsx_value(value))
            if isinstance(value, str):
                cell.data_type = "s"  # text stays text, even "=1+1"
            if number in bold_rows or column in bold_columns:
                cell.font = bold
            if column in money_columns and not isinstance(value, str):
                cell.number_format = "#,##0.00"
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _safe_text(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _csv_value(value):
    if value is None:
        return ""
    if isinstance(value, float):
        # Averages of floats carry binary noise (33.333333333333336): six places are plenty.
        return f"{value:.6f}".rstrip("0").rstrip(".")
    return _safe_text(value)


def _xlsx_value(value):
    if isinstance(value, str):
        # XML 1.0 (inside XLSX) cannot hold control characters.
        return _safe_text("".join(ch for ch in value if ch >= " " or ch in "\t\n\r"))
    return value


def _sheet_title(text) -> str:
    cleaned = "".join("_" if ch in "[]:*?/\\" else ch for ch in str(text)).strip("'")
    return (cleaned or "Pivot")[:31]


__all__ = ["grid", "to_csv", "to_xlsx"]
