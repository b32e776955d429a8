"""History of tracked models: what the ORM records on create, write and unlink.

A model is tracked when it sets ``_track = True`` or has a field with ``tracking=True``;
its tracked fields are those, plus ``state``. Entries are written in batches with the
superuser (the history is a log, not something the user edits), and read back through
``Model.message_history()``, which checks that the user may read the record.
"""

from __future__ import annotations

from core.orm.support import utcnow


def tracked_fields(model) -> list:
    return model._registry.tracked_fields.get(model._name, [])


def is_tracked(model) -> bool:
    return model._name in model._registry.tracked_fields


def display(field, value, env) -> str | None:
    """A value as a person reads it: names for records, labels for selections."""
    if value is None or value == ():
        return None
    if field.type == "many2one":
        return env[field.comodel_name].browse(value).display_names().get(value)
    if field.type == "selection":
        return dict(field.selection).get(value, value)
    if field.type == "boolean":
        return env.translate("Yes") if value else env.translate("No")
    return str(value)


def _raw(value):
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _change(field, old, new, env) -> dict:
    return {
        "field": field.name,
        "field_desc": field.string,
        "field_type": field.type,
        "old_value": display(field, old, env),
        "new_value": display(field, new, env),
        "old_raw": _raw(old),
        "new_raw": _raw(new),
    }


def _entries(records, event, changes_by_id=None, names=None):
    env = records.env
    now, uid = utcnow(), env.uid
    names = names or records.sudo().with_context(active_test=False).display_names()
    return [
        {
            "model": records._name,
            "res_id": id_,
            "record_name": names.get(id_),
            "message_type": "notification",
            "event": event,
            "author_id": uid,
            "date": now,
            "tracking_value_ids": [(0, 0, c) for c in (changes_by_id or {}).get(id_, [])],
        }
        for id_ in records.ids
        if changes_by_id is None or changes_by_id.get(id_)
    ]


def after_create(records):
    env = records.env.sudo()
    records = records.with_env(env)
    changes = {}
    for rec in records:
        changes[rec.id] = [
            _change(f, None, value, env)
            for f in tracked_fields(records)
            if (value := rec._get_value(f)) not in (None, False)
        ]
    entries = _entries(records, "created")
    for entry in entries:
        entry["tracking_value_ids"] = [(0, 0, c) for c in changes.get(entry["res_id"], [])]
    env["mail.message"].create(entries)


def snapshot(records, vals) -> dict | None:
    """Values of the tracked fields about to change, before the write."""
    names = [f for f in tracked_fields(records) if f.name in vals]
    if not names:
        return None
    sudo = records.sudo().with_context(active_test=False)
    return {f: {rec.id: rec._get_value(f) for rec in sudo} for f in names}


def after_write(records, before):
    env = records.env.sudo()
    sudo = records.with_env(env).with_context(active_test=False)
    sudo.invalidate_recordset([f.name for f in before])
    changes = {}
    for field, old_values in before.items():
        for rec in sudo:
            old, new = old_values.get(rec.id), rec._get_value(field)
            if old != new:
                changes.setdefault(rec.id, []).append(_change(field, old, new, env))
    if changes:
        env["mail.message"].create(_entries(sudo, "changed", changes))


def before_unlink(records) -> list:
    names = records.sudo().with_context(active_test=False).display_names()
    return _entries(records, "deleted", names=names)


def after_unlink(env, entries):
    if entries:
        env.sudo()["mail.message"].create(entries)
