"""CSV and XLSX files of a pivot table: two header rows, the rows, the totals row."""

from __future__ import annotations

import csv
import io

# Text a spreadsheet would run as a formula gets an apostrophe in front (CSV and XLSX).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def grid(table, total_label: str) -> list[list]:
    """The table as rows of cells for a spreadsheet: two header rows (column groups,
    then measures), one row per row group, a totals row. Numbers stay numbers."""
    width = max(len(table.rows), 1)
    measure_labels = [m.label for m in table.measures]
    first = [" / ".join(d.label for d in table.rows)] + [""] * (width - 1)
    second = [""] * width
    for header in table.col_headers:
        first += [header.label] + [""] * (len(table.measures) - 1)
        second += measure_labels
    first += [total_label] + [""] * (len(table.measures) - 1)
    second += measure_labels
    lines = [first, second]
    for row in table.row_headers:
        line = list(row.labels) + [""] * (width - len(row.labels))
        for col in table.col_headers:
            line += table.cells.get((row.key, col.key)) or [None] * len(table.measures)
        line += table.row_totals.get(row.key) or [None] * len(table.measures)
        lines.append(line)
    line = [total_label] + [""] * (width - 1)
    for col in table.col_headers:
        line += table.col_totals.get(col.key) or [None] * len(table.measures)
    line += table.total
    lines.append(line)
    return lines


def to_csv(table) -> bytes:
    """UTF-8 CSV with a byte order mark (so spreadsheets read Cyrillic), ``.`` decimals."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    for line in table.grid():
        writer.writerow([_csv_value(v) for v in line])
    return out.getvalue().encode("utf-8")


def to_xlsx(table, title=None) -> bytes:
    """An XLSX workbook with the table: bold headers and totals, numbers as numbers."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(_sheet_title(title or table.model))
    bold = Font(bold=True)
    width = max(len(table.rows), 1)
    money_columns = {
        width + index
        for index in range((len(table.col_headers) + 1) * len(table.measures))
        if table.measures[index % len(table.measures)].money
    }
    lines = table.grid()
    for number, line in enumerate(lines):
        heading = number < 2 or number == len(lines) - 1
        cells = []
        for column, value in enumerate(line):
            cell = WriteOnlyCell(sheet, value=_xlsx_value(value))
            if isinstance(value, str):
                cell.data_type = "s"  # text stays text, even "=1+1"
            if heading or column < width:
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
