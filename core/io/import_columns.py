"""Which field each column of an import file fills: suggestions, choices and checks.

A column header names a field by its technical name or its label in English or Russian,
case-insensitively; ``partner_id/id`` (or ``partner_id.id``) means the related record's
external id, ``partner_id/email`` a text field of the related record to find it by, and
``id`` the external id of the imported record itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.exceptions import AccessError
from core.io.import_values import ImportFileError
from core.orm.support import MAGIC_FIELDS

ID_WORDS = ("id", "external id", "external_id", "xml id")


@dataclass
class Column:
    """A file column mapped to a field: ``path`` is ``name``, ``name/id`` or ``name/sub``."""

    index: int
    header: str
    path: str
    field: object = None  # None for the ``id`` (external id) column
    sub: str | None = None


def importable_fields(model) -> dict:
    """``{field name: field}`` of the fields this user may fill from a file."""
    result = {}
    for name, fld in model._fields.items():
        if name in MAGIC_FIELDS or fld.compute or fld.type in ("one2many", "binary"):
            continue
        if not (fld.stored_column or fld.type == "many2many"):
            continue
        if model.field_visible(name):
            result[name] = fld
    return result


def _sub_fields(env, fld) -> dict:
    """Text fields of a relation's target by which its records can be found."""
    comodel = env[fld.comodel_name]
    return {
        name: f
        for name, f in comodel._fields.items()
        if f.type in ("char", "text") and f.stored_column and comodel.field_visible(name)
    }


def mapping_options(env, model) -> list[tuple[str, str]]:
    """``[(path, label)]`` a user may map a column to, for the mapping selects."""
    tr = env.translate
    options = [("id", tr("External ID"))]
    for name, fld in sorted(importable_fields(model).items(), key=lambda p: tr(p[1].string)):
        label = tr(fld.string)
        options.append((name, label))
        if fld.type in ("many2one", "many2many"):
            options.append((f"{name}/id", f"{label} / {tr('External ID')}"))
            rec_name = env[fld.comodel_name].rec_name_field()
            for sub, sub_field in _sub_fields(env, fld).items():
                if sub != rec_name:
                    options.append((f"{name}/{sub}", f"{label} / {tr(sub_field.string)}"))
    return options


def _key(text) -> str:
    return re.sub(r"\s+", " ", str(text or "")).strip().lower()


def _name_index(env, fields_: dict) -> dict:
    """``{lower-case name or label (en, ru): field name}``; technical names win over labels."""
    registry = env.registry
    index = {}
    for name, fld in fields_.items():
        for label in (fld.string, registry.translate(fld.string, "ru")):
            index.setdefault(_key(label), name)
    for name in fields_:
        index[_key(name)] = name
    return index


def _id_words(env) -> set:
    return {*ID_WORDS, _key(env.registry.translate("External ID", "ru"))}


def resolve_header(env, model, header) -> str | None:
    """The field path a column header names, or None."""
    key = _key(header)
    if not key:
        return None
    if key in _id_words(env):
        return "id"
    fields_ = importable_fields(model)
    index = _name_index(env, fields_)
    if key in index:
        return index[key]
    for sep in ("/", "."):
        head, found, sub = key.rpartition(sep)
        head = head.strip()
        if not found or head not in index:
            continue
        fld = fields_[index[head]]
        if fld.type not in ("many2one", "many2many"):
            continue
        sub = sub.strip()
        if sub in _id_words(env):
            return f"{fld.name}/id"
        sub_name = _name_index(env, _sub_fields(env, fld)).get(sub)
        if sub_name is not None:
            rec_name = env[fld.comodel_name].rec_name_field()
            return fld.name if sub_name == rec_name else f"{fld.name}/{sub_name}"
    return None


def suggest_mapping(env, model, headers, saved=None) -> list[str | None]:
    """A field path (or None) per header: the user's saved choice, else by name or label."""
    saved = saved or {}
    result, used = [], set()
    for header in headers:
        path = saved.get(header) if header in saved else resolve_header(env, model, header)
        target = str(path or "").replace(".", "/").split("/")[0]
        if path and (target in used or _check_path(env, model, path) is None):
            path = None  # one column per field: the first one that names it
        if path:
            used.add(target)
        result.append(path or None)
    return result


def _check_path(env, model, path):
    """``(field, sub)`` for a valid path, else None."""
    path = str(path).replace(".", "/")
    if path == "id":
        return (None, None)
    name, _sep, sub = path.partition("/")
    fld = importable_fields(model).get(name)
    if fld is None:
        return None
    if not sub:
        return (fld, None)
    if fld.type not in ("many2one", "many2many"):
        return None
    if sub == "id" or sub in _sub_fields(env, fld):
        return (fld, sub)
    return None


def build_columns(env, model, headers, mapping) -> list[Column]:
    """The mapped columns; an unknown path, a field mapped twice or a relation the user may
    not read stops the import before any row is looked at."""
    columns, seen = [], {}
    for index, path in enumerate(mapping or ()):
        if not path:
            continue
        header = headers[index] if index < len(headers) and headers[index] else f"#{index + 1}"
        checked = _check_path(env, model, path)
        if checked is None:
            raise ImportFileError(
                'Column "%(column)s": %(model)s has no importable field %(path)s.',
                column=header,
                model=model._description or model._name,
                path=path,
            )
        fld, sub = checked
        target = "id" if fld is None else fld.name
        if target in seen:
            raise ImportFileError(
                'Columns "%(first)s" and "%(second)s" both fill the same field.',
                first=seen[target],
                second=header,
            )
        seen[target] = header
        if fld is not None and fld.relational:
            try:
                env[fld.comodel_name].check_access("read")
            except AccessError:
                raise ImportFileError(
                    'Column "%(column)s": you may not read the records it refers to.',
                    column=header,
                ) from None
        columns.append(Column(index, header, str(path).replace(".", "/"), fld, sub))
    if not columns:
        raise ImportFileError("Map at least one column to a field.")
    return columns
