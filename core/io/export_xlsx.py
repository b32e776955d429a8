"""Export of records to CSV and XLSX files that the importer reads back.

Values come from ``core.io.export.export_rows`` (the user's rights apply). A path ending in
``id`` (``id``, ``partner_id/id``, ``tag_ids/id``) exports external ids: records that have
none get ``__export__.<table>_<id>``, recorded in ``ir.model.data``, so that importing the
file again updates the same records instead of duplicating them. Headers are the field
paths with ``/`` between the parts, as the importer expects.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
from decimal import Decimal
from types import MappingProxyType

from core.io.export import ExportError, export_rows, parse_paths
from core.io.import_values import zone

EXPORT_MODULE = "__export__"
FORMATS = MappingProxyType(
    {
        "csv": ("text/csv; charset=utf-8", "csv"),
        "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    }
)
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_CHUNK = 1000


def _split(path) -> list[str]:
    return [p.strip() for p in str(path).replace("/", ".").split(".")]


def export_table(records, field_paths) -> tuple[list[str], list[list]]:
    """``(headers, rows)`` for the records; external ids created where a path asks for them."""
    if isinstance(field_paths, str):
        field_paths = [field_paths]
    dotted = [".".join(_split(p)) for p in field_paths]
    parse_paths(dotted)  # the shape of every path is checked before anything is read
    env = records.env
    plain, special = [], {}
    for index, path in enumerate(dotted):
        parts = path.split(".")
        if parts[-1] == "id" and len(parts) == 2:
            first = records._fields.get(parts[0])
            if first is not None and first.type in ("one2many", "many2many"):
                special[index] = first
                continue
        plain.append(index)
    values = export_rows(records, [dotted[i] for i in plain]) if plain else [[] for _ in records]
    columns: list[list] = [[] for _ in dotted]
    for position, index in enumerate(plain):
        columns[index] = [row[position] for row in values]
    for index in plain:
        parts = dotted[index].split(".")
        if parts[-1] == "id":
            model_name = _model_at(records, parts[:-1])
            names = external_ids(env, model_name, [v for v in columns[index] if v])
            columns[index] = [names.get(v) if v else None for v in columns[index]]
    for index, fld in special.items():
        columns[index] = _x2many_external_ids(records, fld)
    tz = zone(env.context.get("tz"))
    if tz is not None:  # times in the user's local time, as the web client shows them
        for index in plain:
            parts = dotted[index].split(".")
            if _field_at(records, parts).type == "datetime":
                columns[index] = [_local(v, tz) for v in columns[index]]
    headers = ["/".join(p.split(".")) for p in dotted]
    rows = [list(row) for row in zip(*columns, strict=True)] if columns else []
    return headers, rows


def _field_at(records, parts):
    model = records
    for name in parts[:-1]:
        model = model.env[model._fields[name].comodel_name]
    return model._fields[parts[-1]]


def _local(value, tz):
    if not isinstance(value, datetime.datetime):
        return value
    return value.replace(tzinfo=datetime.UTC).astimezone(tz).replace(tzinfo=None)


def _model_at(records, parts) -> str:
    model = records
    for name in parts:
        fld = model._fields[name]
        model = model.env[fld.comodel_name]
    return model._name


def _x2many_external_ids(records, fld) -> list:
    """The related records' external ids, comma-separated, of those the user may read."""
    records.check_field_access([fld.name], "read")
    rows = records.read([fld.name])
    comodel = records.env[fld.comodel_name].with_context(active_test=False)
    comodel.check_access("read")
    wanted = sorted({i for row in rows for i in row[fld.name] or ()})
    readable = set(comodel.search_ids([("id", "in", wanted)])) if wanted else set()
    names = external_ids(records.env, comodel._name, sorted(readable))
    return [
        ",".join(names[i] for i in row[fld.name] or () if i in readable) or None for row in rows
    ]


def external_ids(env, model_name, ids) -> dict:
    """``{id: "module.name"}``, creating ``__export__`` ones for records that have none."""
    ids = sorted(set(ids))
    data = env.registry.tables["ir.model.data"]
    found: dict = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        query = (
            data.select(data.res_id, data.module, data.name)
            .where((data.model == model_name) & data.res_id.in_(chunk))
            .order_by(data.id)
        )
        for res_id, module, name in query.tuples():
            found.setdefault(res_id, f"{module}.{name}")
    missing = [i for i in ids if i not in found]
    if missing:
        table = model_name.replace(".", "_")
        env["ir.model.data"].sudo().create(
            [
                {"module": EXPORT_MODULE, "name": f"{table}_{i}", "model": model_name, "res_id": i}
                for i in missing
            ]
        )
        found.update({i: f"{EXPORT_MODULE}.{table}_{i}" for i in missing})
    return found


# -- files --------------------------------------------------------------------------------------------


def csv_cell(value):
    """A value as CSV text; text a spreadsheet would run as a formula gets an apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date | Decimal | int | float):
        return str(value) if not isinstance(value, datetime.date) else value.isoformat()
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, default=str)
    value = str(value)
    if value[:1] in _FORMULA_STARTS and not _NUMBER.match(value):
        return "'" + value
    return value


def to_csv(headers, rows) -> bytes:
    """UTF-8 with a BOM, so that spreadsheets open Cyrillic text correctly."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows([csv_cell(v) for v in row] for row in rows)
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def to_xlsx(headers, rows, title="Export") -> bytes:
    """A one-sheet workbook: numbers, money, dates and booleans as typed cells."""
    import openpyxl  # heavy to load: only for XLSX files
    from openpyxl.cell import WriteOnlyCell

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet(title=re.sub(r"[\[\]:*?/\\]", " ", title)[:31] or "Export")
    sheet.append(headers)
    for row in rows:
        cells = []
        for value in row:
            if isinstance(value, dict | list):
                value = json.dumps(value, ensure_ascii=False, default=str)
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula, whatever the text starts with
            elif isinstance(value, datetime.datetime):
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
            elif isinstance(value, datetime.date):
                cell.number_format = "yyyy-mm-dd"
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def export_records(env, model_name, field_paths, ids=None, domain=None, fmt="csv"):
    """``(content, mimetype, filename)``: the selected ``ids`` or the records matching
    ``domain`` (all when neither is given), through the user's rights."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}: csv or xlsx")
    model = env[model_name]
    model.check_access("read")
    if ids is not None:
        records = model.with_context(active_test=False).search([("id", "in", list(ids))])
    else:
        records = model.search(list(domain or []))
    headers, rows = export_table(records, field_paths)
    mimetype, extension = FORMATS[fmt]
    content = to_csv(headers, rows) if fmt == "csv" else to_xlsx(headers, rows, model_name)
    return content, mimetype, f"{model_name}.{extension}"
