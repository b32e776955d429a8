"""Links from activities and events to the records they are about: checks and history notes."""

from __future__ import annotations

from core import AccessError, ValidationError, tr, utcnow


def check_link(env, model, res_id):
    """A linked record named by model and id must exist and be readable by the user."""
    if not model and not res_id:
        return
    if model not in env.registry.models:
        raise ValidationError(tr(env, "Unknown model %(model)r", model=model), "res_model")
    if not isinstance(res_id, int) or isinstance(res_id, bool):
        raise ValidationError(tr(env, "An activity on a record needs the record's id"), "res_id")
    check_readable(env, model, {res_id})


def check_readable(env, model, ids):
    """Records ``ids`` of ``model`` exist and the user may read them. Activities and events
    show the linked record's name, so linking to what one may not read would reveal it;
    both cases get one answer, so existence is not revealed either."""
    Model = env[model].with_context(active_test=False)
    readable = set(Model.sudo().browse(list(ids)).exists().ids)
    if readable and not env.su:
        try:
            Model.check_access("read")
        except AccessError:
            readable = set()
        else:
            rules = Model.rule_domain("read")
            if rules:
                readable = set(Model.sudo().search_ids([("id", "in", sorted(readable)), *rules]))
    missing = set(ids) - readable
    if missing:
        raise ValidationError(
            tr(
                env,
                "%(model)s #%(id)s does not exist or is not yours to see",
                model=model,
                id=min(missing),
            ),
            "res_id",
        )


def post_notes(env, notes):
    """Notes ``(model, res_id, record name, text)`` into records' history, in one batch."""
    if not notes or "mail.message" not in env.registry.models:
        return
    now, uid = utcnow(), env.uid
    env["mail.message"].sudo().create(
        [
            {
                "model": model,
                "res_id": res_id,
                "record_name": name,
                "message_type": "comment",
                "event": "note",
                "body": body,
                "author_id": uid,
                "date": now,
            }
            for model, res_id, name, body in notes
        ]
    )
