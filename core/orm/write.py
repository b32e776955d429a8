"""Batch writes of the ORM: create, write, unlink, x2many commands and recompute triggers."""

from __future__ import annotations

import datetime
import sqlite3
from decimal import Decimal
from types import MappingProxyType

from core.db import trigram
from core.db.connection import is_postgres
from core.exceptions import UserError, ValidationError
from core.orm import bulk_copy as orm_copy
from core.orm import fields as F
from core.orm import tracking
from core.orm.support import (
    MAGIC_FIELDS,
    _chunks,
    check_required_columns,
    translate_integrity,
    utcnow,
)

# Values of these Python types need no conversion for a field of the given kind.
_FAST_TYPES = MappingProxyType(
    {
        "char": (str,),
        "text": (str,),
        "integer": (int,),
        "float": (float,),
        "many2one": (int,),
        "boolean": (bool,),
        "date": (datetime.date,),
        "selection": (),
        "monetary": (),
        "datetime": (),
        "json": (),
    }
)
INSERT_CHUNK = 5000
SQLITE_VARIABLES = 32766  # bound parameters per statement (SQLite 3.32 and later)


def _fast_types(field):
    """The Python types whose values ``field.convert_to_cache`` would return unchanged.

    Only for the stock conversions: a field class that overrides ``convert_to_cache`` always
    goes through it, as do sized chars (length check) and floats with digits (rounding).
    """
    stock = F.FIELD_TYPES.get(field.type)
    if stock is None or type(field).convert_to_cache is not stock.convert_to_cache:
        return ()
    if field.type in ("char", "text") and getattr(field, "size", None):
        return ()
    if field.type == "float" and getattr(field, "digits", None) is not None:
        return ()
    return _FAST_TYPES.get(field.type, ())


def _column_values(model, field, vals_list, default):
    """The converted values of one column across a batch of vals dicts."""
    name, env = field.name, model.env
    conv = field.convert_to_cache
    fast = _fast_types(field)
    if fast and field.type == "many2one":  # a bool is an int but must be converted, 0 means none
        return [
            (v if type(v) is int and v else conv(v, env))
            if (v := vals.get(name, default)) is not None
            else None
            for vals in vals_list
        ]
    if fast and field.type == "integer":  # a bool is an int too and must be converted
        return [
            (v if type(v) is int else conv(v, env))
            if (v := vals.get(name, default)) is not None
            else None
            for vals in vals_list
        ]
    if fast:
        kind = fast[0]
        return [
            (v if type(v) is kind else conv(v, env))
            if (v := vals.get(name, default)) is not None
            else None
            for vals in vals_list
        ]
    if field.type == "selection" and type(field).convert_to_cache is F.Selection.convert_to_cache:
        keys = frozenset(k for k, _label in field.selection if type(k) is str and k)
        return [
            v if type(v) is str and v in keys else conv(v, env)
            for v in (vals.get(name, default) for vals in vals_list)
        ]
    return [conv(vals.get(name, default), env) for vals in vals_list]


def _check_keys(model, keys):
    unknown = [k for k in keys if k not in model._fields]
    if unknown:
        raise ValidationError(f"{model._name} has no field {unknown[0]!r}", unknown[0], model._name)
    magic = [k for k in keys if k in MAGIC_FIELDS]
    if magic:
        raise ValidationError(
            f"{model._name}.{magic[0]} is set by the system", magic[0], model._name
        )


def create_records(model, vals_list):
    """Insert a batch: defaults, conversion, stored computes, one multi-row insert."""
    env = model.env
    fields_ = model._fields
    keys = set()
    for vals in vals_list:
        keys.update(vals)
    _check_keys(model, keys)
    model.check_field_access([k for k in keys], "write")
    defaults = model.default_get(None)
    columns = {}
    for name, field in fields_.items():
        if not field.stored_column or name in MAGIC_FIELDS or field.compute:
            continue
        if name in keys or defaults.get(name) is not None:
            columns[name] = _column_values(model, field, vals_list, defaults.get(name))
    required_missing = {
        name: [None] * len(vals_list)
        for name, field in fields_.items()
        if field.required
        and field.stored_column
        and not field.compute
        and name not in columns
        and name not in MAGIC_FIELDS
    }
    check_required_columns(model, {**columns, **required_missing})

    converted = set(columns)  # values normalised by convert_to_cache, ready for the database
    computed = model._registry.stored_computes.get(model._name, [])
    if computed:
        _precompute(model, vals_list, columns, computed)
    now, uid = utcnow(precise=True), env.uid
    count = len(vals_list)
    constants = {}  # one value for every row
    if model._registry.log_access(model._name):
        # write_date to the microsecond (stale-write checks); create_date to the second
        constants = {
            "create_date": now.replace(microsecond=0),
            "write_date": now,
            "create_uid": uid,
            "write_uid": uid,
        }
    ids = _insert(model, columns, count, constants, converted)
    cache = env.state.cache
    for name, values in columns.items():
        cache.setdefault(fields_[name], {}).update(zip(ids, values, strict=True))
    for name, value in constants.items():
        cache.setdefault(fields_[name], {}).update(dict.fromkeys(ids, value))
    columns.update(constants)
    records = model._browse(tuple(ids))
    _invalidate_inverse_x2many(model, [n for n in columns if fields_[n].type == "many2one"])

    other = [k for k in keys if not fields_[k].stored_column and not fields_[k].compute]
    for name in other:
        field = fields_[name]
        pairs = [
            (id_, vals[name]) for id_, vals in zip(ids, vals_list, strict=True) if name in vals
        ]
        if isinstance(field, F._X2many):
            _apply_x2many(records, field, pairs, creating=True)
        elif field.type == "binary":
            _store_binary(records, field, pairs)
    _modified(records, list(columns) + other, created=True)
    _invalidate_nonstored(env)
    _check_constraints(records, None)
    if tracking.is_tracked(model):
        env.recompute()
        tracking.after_create(records)
    env.registry.hook_event("record_created", env=env, model=model._name, records=records)
    env.recompute()
    return records


def _precompute(model, vals_list, columns, computed):
    """Compute stored computed fields before the insert, on records with temporary ids."""
    env = model.env
    cache = env.state.cache
    new_id = F.NewId
    new_ids = tuple([new_id() for _ in vals_list])
    seeded = set()  # fields whose cache received every temporary id
    for name, values in columns.items():
        field = model._fields[name]
        cache.setdefault(field, {}).update(zip(new_ids, values, strict=True))
        seeded.add(field)
    records = model._browse(new_ids)
    done = set()
    for field in computed:
        if field in done:
            continue
        records._compute_into_cache(field)
        done.update(model._registry.fields_computed_by(model._name, field.compute))
    for field in computed:
        fcache = cache.get(field, {})
        columns[field.name] = list(map(fcache.get, new_ids))
        seeded.add(field)
    # Forget the temporary ids. A cache holding every one of them and nothing else is emptied
    # at once; others (fields the computes happened to read) are cleaned id by id.
    count = len(new_ids)
    for field in list(cache):
        fcache = cache[field]
        if fcache and field.model_name == model._name:
            if field in seeded and len(fcache) == count:
                fcache.clear()
            else:
                for i in new_ids:
                    fcache.pop(i, None)


def _db_adapter(model, name, converted):
    """The peewee adaptation a column's values need before the insert, or None."""
    kind = model._fields[name].type
    if kind == "json" or (kind == "monetary" and name not in converted):
        # convert_to_cache already quantized monetary values to the column's digits
        return model._table._meta.fields[name].db_value
    return None


def _insert(model, columns, count, constants=None, converted=()) -> list[int]:
    """One multi-row insert (per chunk) returning the new ids in order; on PostgreSQL a
    batch of ``orm_copy.COPY_THRESHOLD`` rows or more goes through COPY instead.

    ``columns`` maps names to a list of values per row, ``constants`` names to one value for
    every row; ``converted`` names the columns whose values convert_to_cache produced.
    """
    table = model._table
    db = table._meta.database
    postgres = is_postgres(db)
    constants = constants or {}
    names = list(columns) + [n for n in constants if n not in columns]
    col_sql = ", ".join(f'"{table._meta.fields[n].column_name}"' for n in names)
    value_lists = []
    for name in names:
        adapt = _db_adapter(model, name, converted)
        if name in columns:
            values = columns[name]
            value_lists.append([adapt(v) for v in values] if adapt else values)
        else:
            value = adapt(constants[name]) if adapt else constants[name]
            if not postgres:  # adapt once (e.g. a datetime to text) rather than per row
                value = sqlite3.adapt(value, sqlite3.PrepareProtocol, value)
            value_lists.append([value] * count)
    if postgres and names and count >= orm_copy.COPY_THRESHOLD:
        with translate_integrity(model):
            ids = orm_copy.copy_rows(
                model, db.cursor(), names, value_lists, count, constants.keys() - columns.keys()
            )
        if ids is not None:
            return ids
    rows = list(zip(*value_lists, strict=True)) if names else [()] * count
    tname = table._meta.table_name
    ids = []
    with translate_integrity(model):
        if postgres:
            from psycopg2.extras import execute_values

            if names:
                sql = f'INSERT INTO "{tname}" ({col_sql}) VALUES %s RETURNING id'
            else:
                sql = f'INSERT INTO "{tname}" DEFAULT VALUES RETURNING id'
            cursor = db.cursor()
            if names:
                for chunk in _chunks(rows, INSERT_CHUNK):
                    ids.extend(
                        r[0] for r in execute_values(cursor, sql, chunk, page_size=1000, fetch=True)
                    )
            else:
                for _ in range(count):
                    cursor.execute(sql)
                    ids.append(cursor.fetchone()[0])
        else:
            cursor = db.cursor()
            if names and trigram.has_triggers(model):
                # One statement per row would make each row's trigger flush the FTS5 index
                # (about 20 times slower): many rows per statement instead.
                marks = "(" + ", ".join("?" * len(names)) + ")"
                for chunk in _chunks(rows, max(1, SQLITE_VARIABLES // len(names))):
                    sql = f'INSERT INTO "{tname}" ({col_sql}) VALUES {", ".join([marks] * len(chunk))}'
                    cursor.execute(sql, [value for row in chunk for value in row])
            elif names:
                sql = f'INSERT INTO "{tname}" ({col_sql}) VALUES ({", ".join("?" * len(names))})'
                cursor.executemany(sql, rows)
            else:
                for _ in range(count):
                    cursor.execute(f'INSERT INTO "{tname}" DEFAULT VALUES')
            last = cursor.execute("SELECT last_insert_rowid()").fetchone()[0]
            # One writer holds the lock for the whole statement, so the new ids are consecutive.
            ids = list(range(last - count + 1, last + 1))
    return ids


def _convert_vals(model, vals):
    env = model.env
    converted = {}
    for name, value in vals.items():
        field = model._fields[name]
        if isinstance(field, F._X2many):
            converted[name] = value
        else:
            converted[name] = field.convert_to_cache(value, env)
    return converted


def write_records(records, vals):
    """Update the records with the same values: one UPDATE per chunk of ids."""
    model = records
    env = records.env
    _check_keys(model, vals)
    records.check_field_access(list(vals), "write")
    computed = [n for n in vals if model._fields[n].compute]
    if computed:
        raise ValidationError(
            f"{model._name}.{computed[0]} is computed and cannot be written",
            computed[0],
            model._name,
        )
    vals = _convert_vals(model, vals)
    ids = records.ids
    check_required_columns(
        model, {n: [v] for n, v in vals.items() if model._fields[n].stored_column}
    )
    before = tracking.snapshot(records, vals) if tracking.is_tracked(model) else None
    env.state.readable.clear()  # a write can move records out of anyone's rules
    _modified(records, list(vals), before=True)
    column_vals = {n: v for n, v in vals.items() if model._fields[n].stored_column}
    if model._registry.log_access(model._name):
        column_vals["write_date"] = utcnow(precise=True)
        column_vals["write_uid"] = env.uid
    table = model._table
    if column_vals:
        update = {table._meta.fields[n]: v for n, v in column_vals.items()}
        with translate_integrity(model):
            for chunk in _chunks(ids, 1000):
                table.update(update).where(table.id.in_(chunk)).execute()
        cache = env.state.cache
        for name, value in column_vals.items():
            fcache = cache.setdefault(model._fields[name], {})
            for id_ in ids:
                fcache[id_] = value
        _invalidate_inverse_x2many(
            model, [n for n in column_vals if model._fields[n].type == "many2one"]
        )
    for name, value in vals.items():
        field = model._fields[name]
        if isinstance(field, F._X2many):
            _apply_x2many(records, field, [(id_, value) for id_ in ids], creating=False)
        elif field.type == "binary":
            _store_binary(records, field, [(id_, value) for id_ in ids])
    _modified(records, list(vals))
    _invalidate_nonstored(env)
    _check_constraints(records, set(vals))
    if before:
        tracking.after_write(records, before)
    env.registry.hook_event(
        "record_written", env=env, model=model._name, records=records, vals=vals
    )
    env.recompute()


def unlink_records(records):
    """Delete the records, then recompute what depended on them."""
    env = records.env
    model_name = records._name
    ids = records.ids
    names = [n for n in records._fields if n not in MAGIC_FIELDS]
    _modified(records, names, before=True, exclude_self=True)
    registry = env.registry
    table = records._table
    _apply_soft_ondelete(records, ids)
    history = tracking.before_unlink(records) if tracking.is_tracked(records) else None
    with translate_integrity(records):
        for chunk in _chunks(ids, 1000):
            table.delete().where(table.id.in_(chunk)).execute()
        IrData = registry.tables["ir.model.data"]
        Attachment = registry.tables["ir.attachment"]
        for chunk in _chunks(ids, 1000):
            IrData.delete().where((IrData.model == model_name) & IrData.res_id.in_(chunk)).execute()
            Attachment.delete().where(
                (Attachment.res_model == model_name) & Attachment.res_id.in_(chunk)
            ).execute()
    records.invalidate_recordset()
    for field, pending in env.state.tocompute.items():
        if pending and field.model_name == model_name:
            pending.difference_update(ids)
    _invalidate_all_x2many(env)
    _invalidate_nonstored(env)
    if history:
        tracking.after_unlink(env, history)
    registry.hook_event("record_deleted", env=env, model=model_name, ids=ids)
    env.recompute()


def _apply_soft_ondelete(records, ids):
    """``ondelete`` of many2ones the database does not enforce (see core.db.schema.has_db_fk)."""
    env = records.env
    for field in env.registry.soft_foreign_keys.get(records._name, ()):
        referencing = env[field.model_name].sudo().with_context(active_test=False)
        found = referencing.search([(field.name, "in", ids)])
        if field.model_name == records._name:
            found = found - records
        if not found:
            continue
        if field.ondelete == "restrict":
            raise UserError(
                f"{records._description} is still used by {len(found)} {referencing._description} record(s) "
                f"({field.model_name}.{field.name})"
            )
        if field.ondelete == "cascade":
            found.unlink()
        else:
            found.write({field.name: None})


# -- x2many commands -----------------------------------------------------------------------------------


def _normalize_commands(field, value):
    """Odoo-style commands from a list of commands, a list of ids or a recordset."""
    if value is None or value is False:
        return [(5, 0, 0)]
    if hasattr(value, "_ids"):
        return [(6, 0, list(value.ids))]
    commands = []
    for item in value:
        if isinstance(item, int):
            commands.append((4, item, 0))
        elif isinstance(item, list | tuple) and item and item[0] in COMMAND_CODES:
            commands.append(tuple(item) + (0,) * (3 - len(item)))
        elif isinstance(item, dict):
            commands.append((0, 0, item))
        else:
            raise ValidationError(
                f"{field.string}: unknown command {item!r}", field.name, field.model_name
            )
    return commands


COMMAND_CODES = (0, 1, 2, 3, 4, 5, 6)


def _apply_x2many(records, field, pairs, creating):
    """Apply x2many commands for several parent records, batching creates and links."""
    env = records.env
    comodel = env[field.comodel_name]
    to_create, link_add, link_remove = [], [], []
    for parent_id, value in pairs:
        for cmd, arg, payload in _normalize_commands(field, value):
            if cmd == 0:
                vals = dict(payload or {})
                if field.type == "one2many":
                    vals[field.inverse_name] = parent_id
                to_create.append((parent_id, vals))
            elif cmd == 1:
                comodel.browse(arg).write(payload or {})
            elif cmd == 2:
                comodel.browse(arg).unlink()
            elif cmd == 3:
                if field.type == "one2many":
                    comodel.browse(arg).write({field.inverse_name: None})
                else:
                    link_remove.append((parent_id, arg))
            elif cmd == 4:
                if field.type == "one2many":
                    comodel.browse(arg).write({field.inverse_name: parent_id})
                else:
                    link_add.append((parent_id, arg))
            elif cmd in (5, 6):
                new_ids = list(payload or []) if cmd == 6 else []
                if field.type == "one2many":
                    current = comodel.search([(field.inverse_name, "=", parent_id)])
                    stale = current - comodel.browse(new_ids)
                    if stale:
                        inverse = comodel._fields[field.inverse_name]
                        if inverse.ondelete == "cascade" or inverse.required:
                            stale.unlink()
                        else:
                            stale.write({field.inverse_name: None})
                    if new_ids:
                        comodel.browse(new_ids).write({field.inverse_name: parent_id})
                elif not creating:
                    _m2m_clear(records, field, [parent_id])
                    link_add.extend((parent_id, i) for i in new_ids)
                else:
                    link_add.extend((parent_id, i) for i in new_ids)
    if to_create:
        comodel.create([vals for _parent, vals in to_create])
    if field.type == "many2many":
        if link_remove:
            _m2m_remove(records, field, link_remove)
        if link_add:
            _m2m_add(records, field, link_add)
    env.state.cache.pop(field, None)


def _m2m_rel(records, field):
    rel = records._registry.relation_tables[(records._name, field.name)]
    return rel, getattr(rel, field.column1), getattr(rel, field.column2)


def _m2m_add(records, field, pairs):
    rel, c1, c2 = _m2m_rel(records, field)
    pairs = list(dict.fromkeys(pairs))
    existing = set()
    for chunk in _chunks(pairs, 500):
        lefts = list({p[0] for p in chunk})
        existing.update(rel.select(c1, c2).where(c1.in_(lefts)).tuples())
    fresh = [p for p in pairs if p not in existing]
    with translate_integrity(records):
        for chunk in _chunks(fresh, 1000):
            rel.insert_many(chunk, fields=[c1, c2]).execute()


def _m2m_remove(records, field, pairs):
    rel, c1, c2 = _m2m_rel(records, field)
    by_left = {}
    for left, right in pairs:
        by_left.setdefault(left, []).append(right)
    for left, rights in by_left.items():
        rel.delete().where((c1 == left) & c2.in_(rights)).execute()


def _m2m_clear(records, field, parent_ids):
    rel, c1, _c2 = _m2m_rel(records, field)
    rel.delete().where(c1.in_(parent_ids)).execute()


def _store_binary(records, field, pairs):
    env = records.env
    Attachment = env.registry.tables["ir.attachment"]
    ids = [p[0] for p in pairs]
    Attachment.delete().where(
        (Attachment.res_model == records._name)
        & (Attachment.res_field == field.name)
        & Attachment.res_id.in_(ids)
    ).execute()
    rows = []
    now = utcnow()
    for res_id, value in pairs:
        data = field.convert_to_cache(value, env)
        if data is None:
            continue
        rows.append(
            {
                "name": f"{records._name}.{field.name}",
                "res_model": records._name,
                "res_field": field.name,
                "res_id": res_id,
                "datas": data,
                "file_size": len(data),
                "create_date": now,
                "write_date": now,
                "create_uid": env.uid,
                "write_uid": env.uid,
            }
        )
    if rows:
        Attachment.insert_many(rows).execute()
    fcache = env.state.cache.setdefault(field, {})
    for res_id, value in pairs:
        fcache[res_id] = field.convert_to_cache(value, env)


# -- recompute triggers ------------------------------------------------------------------------------------


def _modified(records, names, before=False, created=False, exclude_self=False):
    """Queue the stored computed fields that depend on ``names`` of these records.

    Triggers through a relation are evaluated before a write or unlink (the records that
    pointed here) and after create or write (the records that point here now).
    """
    env = records.env
    registry = env.registry
    real_ids = records.ids
    if not real_ids:
        return
    for name in names:
        for target, path in registry.triggers.get((records._name, name), ()):
            if not path:
                if before or created:
                    continue
                targets = real_ids
            else:
                target_model = env[target.model_name].sudo().with_context(active_test=False)
                targets = target_model.search_ids([(".".join(path), "in", real_ids)])
                if exclude_self and target.model_name == records._name:
                    targets = [t for t in targets if t not in set(real_ids)]
            if targets:
                env.state.tocompute.setdefault(target, set()).update(targets)


def recompute_field(env, field):
    """Recompute a stored computed field for its queued records and store the results."""
    pending = env.state.tocompute.pop(field, None)
    if not pending:
        return
    model = env[field.model_name].sudo().with_context(active_test=False)
    ids = model.browse(list(pending)).exists().ids
    if not ids:
        return
    records = model.browse(ids)
    siblings = env.registry.fields_computed_by(field.model_name, field.compute)
    for sibling in siblings:
        if sibling is not field:
            env.state.tocompute.get(sibling, set()).difference_update(ids)
        fcache = env.state.cache.get(sibling)
        if fcache:
            for id_ in ids:
                fcache.pop(id_, None)
    records._compute_into_cache(field)
    table = model._table
    cache = env.state.cache
    stored = [s for s in siblings if s.store]
    by_value = {}
    for id_ in ids:
        key = tuple(_hashable(cache[s][id_]) for s in stored)
        by_value.setdefault(key, []).append(id_)
    with translate_integrity(model):
        for group in by_value.values():
            values = {table._meta.fields[s.name]: cache[s][group[0]] for s in stored}
            for chunk in _chunks(group, 1000):
                table.update(values).where(table.id.in_(chunk)).execute()
    _modified(records, [s.name for s in stored])
    _check_constraints(records, {s.name for s in stored}, only_named=True)


def _hashable(value):
    if isinstance(value, list | dict):
        return repr(value)
    if isinstance(value, Decimal):
        return ("D", str(value))
    return value


def _invalidate_nonstored(env):
    cache = env.state.cache
    for field in env.registry.nonstored_computes:
        cache.pop(field, None)


def _invalidate_all_x2many(env):
    cache = env.state.cache
    for field in list(cache):
        if isinstance(field, F._X2many):
            cache.pop(field, None)


def _invalidate_inverse_x2many(model, many2one_names):
    """A changed many2one changes the one2many lists that mirror it."""
    cache = model.env.state.cache
    for name in many2one_names:
        for field in model._registry.inverse_one2many.get((model._name, name), ()):
            cache.pop(field, None)


def _check_constraints(records, names, only_named=False):
    """Run ``@api.constrains`` methods concerned by the changed field names."""
    for method_name, fnames in records._registry.constraint_methods.get(records._name, ()):
        if names is None or set(fnames) & names:
            getattr(records.with_context(active_test=False), method_name)()
        elif only_named:
            continue


__all__ = ["create_records", "write_records", "unlink_records", "recompute_field"]
