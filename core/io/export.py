"""Export: the values of field paths (``name``, ``partner_id.name``) for a set of records.

Everything is read through the caller's recordset, so the same rights apply as everywhere
else: model access on every model a path goes through, field groups (a restricted field
raises ``AccessError``, it is never silently included), and record rules: a related record
the user may not read exports as empty (its display name as "Restricted"), never its values.
Reads are batched per path prefix, not per row.
"""

from __future__ import annotations

import re

from core.exceptions import UserError

_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
MAX_PATHS = 100
MAX_DEPTH = 4


class ExportError(UserError):
    """A field path that cannot be exported (unknown field, not a many2one to go through)."""


def parse_paths(field_paths) -> list[tuple[str, ...]]:
    """Check the shape of the paths and split them at the dots."""
    if isinstance(field_paths, str):
        field_paths = [field_paths]
    paths = []
    for path in field_paths:
        if not isinstance(path, str) or not path:
            raise ExportError(f"not a field path: {path!r}")
        parts = tuple(path.split("."))
        if len(parts) > MAX_DEPTH or not all(_NAME.match(p) for p in parts):
            raise ExportError(f"not a field path: {path!r}")
        paths.append(parts)
    if not paths:
        raise ExportError("name at least one field to export")
    if len(paths) > MAX_PATHS:
        raise ExportError(f"export at most {MAX_PATHS} fields at once")
    return paths


def export_rows(records, field_paths) -> list[list]:
    """One row per record (in the recordset's order), one value per path.

    Values are Python values: text, numbers, ``Decimal``, dates, booleans, None; a many2one
    at the end of a path gives the record's display name, a one2many/many2many the display
    names joined with ", ".
    """
    paths = parse_paths(field_paths)
    records.check_access("read")
    values = _collect(records, paths)
    return [[values[id_][path] for path in paths] for id_ in records.ids]


def _collect(records, paths) -> dict:
    """``{record id: {path: value}}`` for these records (all readable by the user)."""
    model = records.browse()
    fields_ = model._fields
    first = list(dict.fromkeys(path[0] for path in paths))
    for name in first:
        field = fields_.get(name)
        if field is None:
            raise ExportError(f"{model._name} has no field {name!r}")
        if field.type == "binary":
            raise ExportError(f"{model._name}.{name} holds files and cannot be exported")
    model.check_field_access(first, "read")
    rows = {row["id"]: row for row in records.read([n for n in first if n != "id"])}
    result = {id_: {} for id_ in records.ids}

    for name in first:
        field = fields_[name]
        simple = [p for p in paths if p[0] == name and len(p) == 1]
        deeper = [p for p in paths if p[0] == name and len(p) > 1]
        if simple:
            names = _x2many_names(model, field, rows) if field.type in _X2MANY else None
            for id_, row in rows.items():
                value = row.get(name) if name != "id" else id_
                if field.type == "many2one":
                    value = value[1] if value else None
                elif names is not None:
                    value = ", ".join(names[i] for i in value or ())
                result[id_][(name,)] = value
        if deeper:
            if field.type != "many2one":
                raise ExportError(
                    f"{model._name}.{name} is not a many2one: export its display name as "
                    f'"{name}" instead of going through it'
                )
            comodel = model.env[field.comodel_name].with_context(active_test=False)
            comodel.check_access("read")
            targets = {row[name][0] for row in rows.values() if row.get(name)}
            allowed = comodel.search([("id", "in", sorted(targets))]) if targets else comodel
            rest = [p[1:] for p in deeper]
            sub = _collect(allowed, rest)
            for id_, row in rows.items():
                target = row[name][0] if row.get(name) else None
                found = sub.get(target)
                for path in deeper:
                    result[id_][path] = found[path[1:]] if found is not None else None
    return result


_X2MANY = ("one2many", "many2many")


def _x2many_names(model, field, rows) -> dict:
    ids = {i for row in rows.values() for i in (row.get(field.name) or ())}
    return model.env[field.comodel_name].browse(sorted(ids)).display_names() if ids else {}
