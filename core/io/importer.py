"""Import of CSV and XLSX files into any model, through the user's rights.

``preview()`` reads the header and the first rows and suggests a field for each column (by
technical name, or by label in English or Russian; ``partner_id/id`` and
``partner_id/email`` style for relations). ``import_file()`` converts every cell, finds
related records by name or external id (one query per column and batch, never per row),
creates new records with ``create(list)`` in batches and updates those whose external id
(the ``id`` column) already exists. Every problem is reported as (row, column, message);
nothing is written while a row fails unless ``skip_errors`` is set, and a dry run writes
nothing at all. Everything happens inside one savepoint of the caller's transaction.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field

import peewee
import psycopg2

from core.exceptions import AccessError, UserError, ValidationError
from core.io import import_refs as R
from core.io import import_values as V
from core.io.import_columns import build_columns, mapping_options, suggest_mapping
from core.io.import_values import CellError, ImportFileError
from core.orm.support import MAGIC_FIELDS

__all__ = ["ImportFileError", "ImportResult", "import_file", "import_rows", "preview"]

PREVIEW_ROWS = 10
BATCH_SIZE = 2000
LOOKUP_CHUNK = 500
# Modules under which an import may create new external ids; installed addons' names are
# refused, because an addon's upgrade deletes external ids its data files no longer name.
IMPORT_MODULE = "__import__"


@dataclass
class ImportResult:
    """What an import did (or, in a dry run or when rows failed, would have done)."""

    created: int = 0
    updated: int = 0
    errors: list = field(default_factory=list)
    dry_run: bool = False
    committed: bool = False
    ids: list = field(default_factory=list)

    @property
    def failed_rows(self) -> int:
        return len({e["row"] for e in self.errors if e["row"] is not None})


class _Rollback(Exception):
    """Undo the import's savepoint (dry run, or errors without ``skip_errors``)."""


# -- preview ------------------------------------------------------------------------------------------


def preview(env, model_name, content, filename="", rows=PREVIEW_ROWS, saved=None) -> dict:
    """The header, the first rows as text and a suggested mapping of a file."""
    model = env[model_name]
    table = V.read_table(content, filename)
    first = []
    for number, cells in table.rows():
        first.append((number, ["" if V.is_empty(c) else V.clean_text(c) for c in cells]))
        if len(first) >= rows:
            break
    return {
        "kind": table.kind,
        "headers": table.headers,
        "rows": first,
        "mapping": suggest_mapping(env, model, table.headers, saved),
        "options": mapping_options(env, model),
    }


# -- import -------------------------------------------------------------------------------------------


def import_file(env, model_name, content, filename="", mapping=None, **options) -> ImportResult:
    """Import a CSV or XLSX file; ``mapping`` (a path or None per column) defaults to the
    suggested one. Options: ``dry_run``, ``skip_errors``, ``batch_size``."""
    table = V.read_table(content, filename)
    model = env[model_name]
    if mapping is None:
        mapping = suggest_mapping(env, model, table.headers)
    return import_rows(env, model_name, table.headers, table.rows(), mapping, **options)


def import_rows(
    env, model_name, headers, rows, mapping, dry_run=False, skip_errors=False, batch_size=None
) -> ImportResult:
    """Import ``rows`` (``(row number, cells)`` pairs) under ``headers`` with ``mapping``."""
    return _Importer(env, model_name, headers, mapping, batch_size or BATCH_SIZE).run(
        rows, dry_run, skip_errors
    )


@contextlib.contextmanager
def _savepoint(env):
    """A savepoint whose rollback also forgets the after-commit callbacks queued inside it."""
    queued = len(env.state.after_commit)
    try:
        with env.atomic():
            yield
    except BaseException:
        del env.state.after_commit[queued:]
        raise


# Raw cursors (execute_values, COPY on PostgreSQL) raise psycopg2's own classes.
_RECORD_ERRORS = (
    UserError,
    peewee.IntegrityError,
    peewee.DataError,
    psycopg2.IntegrityError,
    psycopg2.DataError,
)


class _Importer:
    def __init__(self, env, model_name, headers, mapping, batch_size):
        self.env = env
        self.model = env[model_name]
        self.headers = list(headers)
        self.columns = build_columns(env, self.model, self.headers, mapping)
        self.batch_size = batch_size
        self.result = ImportResult()
        self.id_column = next((c for c in self.columns if c.field is None), None)
        self.lookups: dict = {}  # (column path) -> {key: id | _AMBIGUOUS}
        self.xmlids_seen: dict = {}  # (module, name) -> row number
        self.modules_used: dict = {}  # module -> had external ids before this import
        # Times without an offset are the user's local time, as the web client shows them.
        self.tz = V.zone(env.context.get("tz"))
        self.by_field = {c.field.name: c.header for c in self.columns if c.field is not None}
        mapped = set(self.by_field)
        self.required = [
            f
            for name, f in self.model._fields.items()
            if f.required
            and f.stored_column
            and not f.compute
            and name not in MAGIC_FIELDS
            and f.default is None
            and "default_" + name not in env.context
        ]
        if self.id_column is None:
            missing = [f for f in self.required if f.name not in mapped]
            if missing:
                raise ImportFileError(
                    "%(field)s is required: map a column to it.",
                    field=env.translate(missing[0].string),
                )
        self.selections = {
            c.field.name: self._selection_index(c.field)
            for c in self.columns
            if c.field is not None and c.field.type == "selection"
        }

    def t(self, text, **params) -> str:
        text = self.env.translate(text)
        return text % params if params else text

    def error(self, row, column, message):
        self.result.errors.append({"row": row, "column": column, "message": message})

    # -- the run ---------------------------------------------------------------------------------
    def run(self, rows, dry_run, skip_errors) -> ImportResult:
        result = self.result
        result.dry_run = dry_run
        if self.id_column is None:
            self.model.check_access("create")
        try:
            with _savepoint(self.env):
                batch = []
                for item in rows:
                    batch.append(item)
                    if len(batch) >= self.batch_size:
                        self._batch(batch)
                        batch = []
                if batch:
                    self._batch(batch)
                self.env.recompute()
                if dry_run or (result.errors and not skip_errors):
                    raise _Rollback
        except _Rollback:
            result.committed = False
            result.ids = []
        else:
            result.committed = True
        result.errors.sort(key=lambda e: e["row"] or 0)
        return result

    def _batch(self, batch):
        errors_before = len(self.result.errors)
        converted = {}
        for column in self.columns:
            cells = [
                cells[column.index] if column.index < len(cells) else None for _, cells in batch
            ]
            converted[column.index] = self._convert(column, cells, batch)
        bad = {e["row"] for e in self.result.errors[errors_before:]}
        targets = self._targets(batch, converted, bad)
        creates, updates = [], []
        value_columns = [c for c in self.columns if c.field is not None]
        for position, (number, _cells) in enumerate(batch):
            if number in bad:
                continue
            record_id, xmlid = targets[position]
            vals = {}
            for column in value_columns:
                value = converted[column.index][position]
                if value is _EMPTY:
                    if record_id is None:
                        continue  # creating: the field's default applies
                    value = _empty_value(column.field)
                vals[column.field.name] = value
            missing = [
                f
                for f in self.required
                if vals.get(f.name) in (None, "") and (record_id is None or f.name in vals)
            ]
            if missing:
                for f in missing:
                    self.error(
                        number, self.by_field.get(f.name, ""), self.t("This field is required.")
                    )
                continue
            if record_id is None:
                creates.append((number, vals, xmlid))
            else:
                updates.append((number, record_id, vals))
        if creates:
            self._create(creates)
        if updates:
            self._update(updates)
        # Everything is in the database now; the cache would otherwise keep every imported
        # value until the end of the transaction.
        self.env.invalidate_all()

    # -- writing ---------------------------------------------------------------------------------
    def _create(self, items):
        try:
            self.model.check_access("create")
        except AccessError as exc:
            for number, _vals, _xmlid in items:
                self._record_error(number, exc)
            return
        created = self._create_chunk(items)
        xmlids = [(*xmlid, rid) for (_n, _v, xmlid), rid in created if xmlid is not None]
        if xmlids:
            R.register_xmlids(self.env, self.model._name, xmlids)
        self.result.created += len(created)
        self.result.ids.extend(rid for _item, rid in created)

    def _create_chunk(self, items) -> list:
        """Create the rows; when the batch fails, halve it until the failing rows are found."""
        try:
            with _savepoint(self.env):
                records = self.model.create([vals for _n, vals, _x in items])
            return list(zip(items, records.ids, strict=True))
        except _RECORD_ERRORS as exc:
            if len(items) == 1:
                self._record_error(items[0][0], exc)
                return []
            middle = len(items) // 2
            return self._create_chunk(items[:middle]) + self._create_chunk(items[middle:])

    def _update(self, items):
        try:
            self.model.check_access("write")
        except AccessError as exc:
            for number, _id, _vals in items:
                self._record_error(number, exc)
            return
        # Only what differs from the database is written, and rows that change the same
        # values in the same way share one write: re-importing an unchanged export writes
        # nothing, and a column set to one value for all rows is a single UPDATE.
        ids = [record_id for _n, record_id, _v in items]
        readable = set(self.model.with_context(active_test=False).search_ids([("id", "in", ids)]))
        names = sorted({name for _n, _r, vals in items for name in vals})
        current = {}
        if readable and names:
            rows = self.model.browse(sorted(readable)).read(names)
            current = {row["id"]: row for row in rows}
        fields_ = self.model._fields
        groups: dict = {}
        for number, record_id, vals in items:
            if record_id not in readable:
                self.error(number, self.id_column.header, self.t("You may not change this record."))
                continue
            old = current.get(record_id, {})
            changed = {k: v for k, v in vals.items() if not _same(fields_[k], old.get(k), v)}
            key = repr(sorted(changed.items()))
            groups.setdefault(key, []).append((number, record_id, changed))
        for group in groups.values():
            if self._write(group) or len(group) == 1:
                continue
            for item in group:  # find which of them failed
                self._write([item])

    def _write(self, group) -> bool:
        vals = group[0][2]
        records = self.model.browse([record_id for _n, record_id, _v in group])
        try:
            with _savepoint(self.env):
                if vals:
                    records.write(vals)
                else:
                    records.check_access("write")
                    records.check_access_rule("write")
        except _RECORD_ERRORS as exc:
            if len(group) == 1:
                self._record_error(group[0][0], exc)
            return False
        self.result.updated += len(group)
        self.result.ids.extend(records.ids)
        return True

    def _record_error(self, number, exc):
        column = ""
        if isinstance(exc, ValidationError) and exc.field:
            column = self.by_field.get(exc.field, "")
        if isinstance(exc, UserError):
            message = self.env.translate(str(exc))
        else:
            message = self.t("The database refused the row: %(error)s", error=str(exc).strip())
        self.error(number, column, message)

    # -- external ids of the rows ----------------------------------------------------------------
    def _targets(self, batch, converted, bad) -> list:
        """``(record id or None, (module, name) or None)`` per row: update or create."""
        if self.id_column is None:
            return [(None, None)] * len(batch)
        header = self.id_column.header
        keys = converted[self.id_column.index]
        wanted = {k for k in keys if k is not _EMPTY and k is not _ERROR}
        found = R.xmlid_rows(self.env, {k for k in wanted if self._module_used(k[0])})
        model_name = self.model._name
        existing_ids = {res_id for model, res_id in found.values() if model == model_name}
        alive = R.existing_ids(self.env, self.model, sorted(existing_ids))
        stale = []
        targets = []
        for position, (number, _cells) in enumerate(batch):
            key = keys[position]
            if key is _EMPTY or key is _ERROR:
                targets.append((None, None))
                continue
            first = self.xmlids_seen.setdefault(key, number)
            if first != number:
                self.error(
                    number,
                    header,
                    self.t("%(xmlid)s is also in row %(row)s.", xmlid=".".join(key), row=first),
                )
                bad.add(number)
                targets.append((None, None))
                continue
            hit = found.get(key)
            if hit is not None and hit[0] != model_name:
                self.error(
                    number,
                    header,
                    self.t("%(xmlid)s is a record of another model.", xmlid=".".join(key)),
                )
                bad.add(number)
                targets.append((None, None))
            elif hit is not None and hit[1] in alive:
                targets.append((hit[1], None))
            elif key[0] in self.env.registry.addon_names:
                self.error(
                    number,
                    header,
                    self.t(
                        "No record has the external id %(xmlid)s; new records get ids of the "
                        "form __import__.name.",
                        xmlid=".".join(key),
                    ),
                )
                bad.add(number)
                targets.append((None, None))
            else:
                if hit is not None:
                    stale.append(key)  # its record was deleted: the name is free again
                targets.append((None, key))
        if stale:
            R.drop_xmlids(self.env, stale)
        return targets

    def _module_used(self, module) -> bool:
        """Whether any external id of ``module`` existed before this import.

        If none did, the only ones that can exist now are those this import created, which
        ``xmlids_seen`` already knows: a first import of new records skips the lookups.
        """
        used = self.modules_used.get(module)
        if used is None:
            used = self.modules_used[module] = R.module_has_xmlids(self.env, module)
        return used

    # -- cells → values --------------------------------------------------------------------------
    def _convert(self, column, cells, batch) -> list:
        """The column's values for the batch: converted, ``_EMPTY`` or ``_ERROR``."""
        fld = column.field
        if fld is None:
            kind = "xmlid"
        elif fld.type in ("many2one", "many2many"):
            return self._convert_relation(column, cells, batch)
        else:
            kind = fld.type
        parse = self._parsers[kind]
        if kind == "char" and not fld.size:
            # The usual text cell: plain text that only needs trimming.
            return [
                c.strip()
                if type(c) is str and c[:1] != "'" and c and not c.isspace()
                else (
                    _EMPTY
                    if c is None or c == "" or (type(c) is str and c.isspace())
                    else parse(self, fld, c)
                )
                for c in cells
            ]
        try:  # all cells fine (the usual case): no per-cell bookkeeping
            return [
                _EMPTY
                if c is None or c == "" or (type(c) is str and c.isspace())
                else parse(self, fld, c)
                for c in cells
            ]
        except (CellError, ValidationError):
            pass  # convert again cell by cell to report every bad one
        out = []
        for position, cell in enumerate(cells):
            if cell is None or cell == "" or (type(cell) is str and cell.isspace()):
                out.append(_EMPTY)
                continue
            try:
                out.append(parse(self, fld, cell))
            except CellError as exc:
                self.error(batch[position][0], column.header, self.t(exc.message, **exc.params))
                out.append(_ERROR)
            except ValidationError as exc:
                self.error(batch[position][0], column.header, self.env.translate(str(exc)))
                out.append(_ERROR)
        return out

    def _xmlid(self, _field, cell):
        text = V.clean_text(cell).strip()
        module, dot, name = text.partition(".")
        if not dot:
            module, name = IMPORT_MODULE, text
        if not module or not name:
            raise CellError("%(value)r is not an external id (module.name).", value=text)
        return (module, name)

    def _char(self, fld, cell):
        text = V.clean_text(cell)
        if fld.type == "char":
            text = text.strip()
        return fld.convert_to_cache(text, self.env) if fld.size else text

    def _selection(self, fld, cell):
        text = V.clean_text(cell).strip()
        key = self.selections[fld.name].get(text.lower())
        if key is None:
            labels = ", ".join(self.env.translate(label) for _k, label in fld.selection)
            raise CellError("%(value)r is not one of: %(allowed)s", value=text, allowed=labels)
        return key

    def _selection_index(self, fld) -> dict:
        index = {}
        registry = self.env.registry
        for key, label in fld.selection:
            for text in (label, registry.translate(label, "ru"), key):
                index.setdefault(str(text).strip().lower(), key)
            index[str(key).lower()] = key
        return index

    def _json(self, _field, cell):
        try:
            return json.loads(V.clean_text(cell))
        except ValueError:
            raise CellError("Expected JSON, got %(value)r", value=cell) from None

    _parsers = {
        "xmlid": _xmlid,
        "char": _char,
        "text": _char,
        "integer": lambda self, f, c: V.parse_integer(c),
        # Rounding and range checks of floats and money are the ORM's, done once at create;
        # a value it refuses is still pinned to its row (see _create_chunk).
        "float": lambda self, f, c: V.parse_float(c),
        "monetary": lambda self, f, c: V.parse_decimal(c),
        "boolean": lambda self, f, c: V.parse_boolean(c),
        "date": lambda self, f, c: V.parse_date(c),
        "datetime": lambda self, f, c: f.convert_to_cache(V.parse_datetime(c, self.tz), self.env),
        "selection": _selection,
        "json": _json,
    }

    # -- relations -------------------------------------------------------------------------------
    def _convert_relation(self, column, cells, batch) -> list:
        fld = column.field
        many = fld.type == "many2many"
        keyed = []  # per row: None (empty) or the list of keys
        for cell in cells:
            if cell is None or cell == "" or (type(cell) is str and cell.isspace()):
                keyed.append(None)
            elif column.sub == "id":
                parts = V.split_names(cell) if many else [V.clean_text(cell).strip()]
                keyed.append([self._xmlid(None, p) for p in parts])
            else:
                keyed.append(V.split_names(cell) if many else [V.clean_text(cell).strip()])
        wanted = {k for keys in keyed if keys for k in keys}
        found = self._lookup(column, wanted)
        out = []
        for position, keys in enumerate(keyed):
            if keys is None:
                out.append(_EMPTY)
                continue
            ids, failed = [], False
            for key in keys:
                hit = found.get(key)
                shown = ".".join(key) if isinstance(key, tuple) else key
                if hit is None:
                    message = self.t(
                        "No %(model)s matches %(value)r.",
                        model=self.env.translate(self._comodel_label(fld)),
                        value=shown,
                    )
                elif hit is _AMBIGUOUS:
                    message = self.t(
                        "Several %(model)s records match %(value)r: use their external ids.",
                        model=self.env.translate(self._comodel_label(fld)),
                        value=shown,
                    )
                else:
                    ids.append(hit)
                    continue
                self.error(batch[position][0], column.header, message)
                failed = True
            if failed:
                out.append(_ERROR)
            else:
                out.append([(6, 0, ids)] if many else ids[0])
        return out

    def _comodel_label(self, fld) -> str:
        comodel = self.env[fld.comodel_name]
        return comodel._description or comodel._name

    def _lookup(self, column, keys) -> dict:
        """``{key: id or _AMBIGUOUS}`` for the keys found; cached across batches."""
        cache = self.lookups.setdefault(column.path, {})
        missing = [k for k in keys if k not in cache]
        if not missing:
            return cache
        comodel = self.env[column.field.comodel_name]
        if column.sub == "id":
            found = R.xmlid_rows(self.env, set(missing))
            candidates = {
                key: res_id for key, (model, res_id) in found.items() if model == comodel._name
            }
            readable = (
                set(
                    comodel.with_context(active_test=False).search_ids(
                        [("id", "in", sorted(set(candidates.values())))]
                    )
                )
                if candidates
                else set()
            )
            for key, res_id in candidates.items():
                if res_id in readable:
                    cache[key] = res_id
            for key in missing:
                cache.setdefault(key, None)
            return cache
        name = column.sub or comodel.rec_name_field()
        if name is None:
            return cache
        # Active records first, as name_search finds them; archived ones only for the rest.
        for active_test in (True, False):
            if not missing:
                break
            model = comodel.with_context(active_test=active_test)
            hits: dict = {}
            for start in range(0, len(missing), LOOKUP_CHUNK):
                chunk = missing[start : start + LOOKUP_CHUNK]
                records = model.search([(name, "in", chunk)])
                for row in records.read([name]) if records else ():
                    hits.setdefault(row[name], []).append(row["id"])
            for key, ids in hits.items():
                cache[key] = ids[0] if len(ids) == 1 else _AMBIGUOUS
            missing = [k for k in missing if k not in cache]
        for key in missing:
            cache[key] = None
        return cache


class _Marker:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


_EMPTY = _Marker("EMPTY")
_ERROR = _Marker("ERROR")
_AMBIGUOUS = _Marker("AMBIGUOUS")


def _same(fld, old, new) -> bool:
    """Whether ``new`` (as the importer converted it) equals ``old`` (as read() gives it)."""
    if fld.type == "many2one":
        return (old[0] if old else None) == new
    if fld.type == "many2many":
        return set(old or ()) == set(new[0][2]) if new else not old
    if fld.type == "boolean":
        return bool(old) == bool(new)
    return type(old) is type(new) and old == new


def _empty_value(fld):
    """What an empty cell writes when it updates a record."""
    if fld.type == "boolean":
        return False
    if fld.type == "many2many":
        return [(6, 0, [])]
    return None
