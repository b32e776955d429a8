"""mail.activity: something to do about a record by a date, kept with its result when done."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core import Model, UserError, ValidationError, api, fields, tr, utcnow

from ..links import check_readable, post_notes
from .activity_type import ACTIVITY_CATEGORIES

ACTIVITY_STATES = [
    ("overdue", "Overdue"),
    ("today", "Today"),
    ("planned", "Planned"),
    ("done", "Done"),
]


# Task statuses as SalesPlatform users know them.
TASK_STATES = [
    ("planned", "Planned"),
    ("not_started", "Not started"),
    ("waiting", "Waiting"),
    ("deferred", "Deferred"),
    ("in_progress", "In progress"),
    ("done", "Done"),
]


def user_today(env) -> datetime.date:
    """Today where the user is (``res.users.tz``): a Moscow user's day starts at 21:00 UTC."""
    try:
        zone = ZoneInfo(env.user.tz or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = datetime.UTC
    return datetime.datetime.now(zone).date()


def _today(model):
    return user_today(model.env)


def current_user(model):
    return model.env.uid


class Activity(Model):
    """Something to do about a record by a date: call, meet, write, a task.

    Done activities are kept (with their result and date) for the activity reports; the
    result also goes into the linked record's history.
    """

    _name = "mail.activity"
    _description = "Activity"
    _order = "date_deadline, id"
    _rec_name = "summary"
    _track = True

    res_model = fields.Char("Related model", index=True)
    res_id = fields.Integer("Related record", index=True)
    res_name = fields.Char("Related to", readonly=True)
    partner_id = fields.Many2one(
        "res.partner",
        "Customer",
        index=True,
        ondelete="set null",
        help="The partner of the linked record, for the client card",
    )
    activity_type_id = fields.Many2one(
        "mail.activity.type", "Activity type", required=True, ondelete="restrict", index=True
    )
    activity_category = fields.Selection(
        ACTIVITY_CATEGORIES, "Kind", compute="_compute_category", store=True, index=True
    )
    summary = fields.Char("Summary", tracking=True, help="The activity type's name when empty")
    note = fields.Text("Note")
    date_deadline = fields.Date(
        "Due date", required=True, index=True, default=_today, tracking=True
    )
    user_id = fields.Many2one(
        "res.users", "Assigned to", required=True, index=True, default=current_user, tracking=True
    )
    state = fields.Selection(ACTIVITY_STATES, "State", compute="_compute_state")
    done = fields.Boolean("Done", default=False, index=True, copy=False)
    date_done = fields.Datetime("Done on", readonly=True, copy=False)
    result = fields.Text("Result", copy=False, tracking=True)
    task_state = fields.Selection(TASK_STATES, "Task status", tracking=True)
    # Never stored: saving the activity with users here gives each of them a copy.
    user_ids = fields.Many2many(
        "res.users",
        "Also remind",
        relation="mail_activity_remind_users_rel",
        column1="activity_id",
        column2="user_id",
        copy=False,
        help="Each of these users gets a copy of the activity (a group reminder)",
    )

    @api.depends("activity_type_id")
    def _compute_category(self):
        for activity in self:
            activity.activity_category = activity.activity_type_id.category or "other"

    def _compute_state(self):
        today = user_today(self.env)
        for activity in self:
            deadline = activity.date_deadline
            if activity.done:
                activity.state = "done"
            elif deadline is None or deadline > today:
                activity.state = "planned"
            elif deadline == today:
                activity.state = "today"
            else:
                activity.state = "overdue"

    # -- create ---------------------------------------------------------------------------------
    def create(self, vals_list):
        """Create activities. ``user_ids`` (several users) makes one activity per user
        (a group reminder); the linked record's name and partner are filled in."""
        single = isinstance(vals_list, dict)
        expanded = []
        for vals in [vals_list] if single else list(vals_list):
            vals = dict(vals)
            users = _ids_of(vals.pop("user_ids", None))
            if users:
                if vals.get("user_id"):  # the form: the responsible one, and the others
                    users = list(dict.fromkeys([_ids_of([vals["user_id"]])[0], *users]))
                expanded += [{**vals, "user_id": uid} for uid in users]
            else:
                expanded.append(vals)
        self._fill_from_type(expanded)
        self._fill_from_records(expanded)
        records = super().create(expanded)
        records._notify_assignees()
        return records

    def write(self, vals):
        """``user_ids`` in a write gives those users a copy of each activity."""
        vals = dict(vals)
        users = _ids_of(vals.pop("user_ids", None)) if "user_ids" in vals else []
        result = super().write(vals) if vals else True
        if vals.get("user_id"):
            self._notify_assignees()  # handed over to a colleague: tell him
        if users:
            copied = ("res_model", "res_id", "partner_id", "activity_type_id", "summary", "note")
            copies = []
            for activity in self:
                base = {name: activity[name] for name in copied}
                base["partner_id"] = activity.partner_id.id
                base["activity_type_id"] = activity.activity_type_id.id
                base["date_deadline"] = activity.date_deadline
                base["task_state"] = activity.task_state
                copies += [{**base, "user_id": uid} for uid in users if uid != activity.user_id.id]
            if copies:
                self.create(copies)
        return result

    def _fill_from_type(self, vals_list):
        """Deadline and summary from the activity type, where not given."""
        type_ids = {v.get("activity_type_id") for v in vals_list if v.get("activity_type_id")}
        types = {t.id: t for t in self.env["mail.activity.type"].sudo().browse(list(type_ids))}
        for vals in vals_list:
            kind = types.get(vals.get("activity_type_id"))
            if kind is None:
                continue
            if not vals.get("summary"):
                vals["summary"] = kind.summary or kind.name
            if "date_deadline" not in vals and kind.delay_count:
                vals["date_deadline"] = user_today(self.env) + datetime.timedelta(
                    days=kind.delay_count
                )
            if kind.category == "task" and not vals.get("task_state"):
                vals["task_state"] = "planned"

    def _fill_from_records(self, vals_list):
        """``res_name`` and ``partner_id`` from the linked records: one read per model."""
        wanted: dict[str, set] = {}
        for vals in vals_list:
            if vals.get("partner_id") and not vals.get("res_model") and not vals.get("res_id"):
                # Planned from the client card: the activity is about the partner.
                vals["res_model"], vals["res_id"] = "res.partner", vals["partner_id"]
            model, res_id = vals.get("res_model"), vals.get("res_id")
            if model or res_id:
                if model not in self.env.registry.models:
                    raise ValidationError(
                        tr(self.env, "Unknown model %(model)r", model=model), "res_model"
                    )
                if not isinstance(res_id, int) or isinstance(res_id, bool):
                    raise ValidationError(
                        tr(self.env, "An activity on a record needs the record's id"),
                        "res_id",
                    )
                wanted.setdefault(model, set()).add(res_id)
        found = {}
        for model, ids in wanted.items():
            check_readable(self.env, model, ids)
            records = self.env[model].sudo().with_context(active_test=False).browse(list(ids))
            names = records.display_names()
            partners = {}
            if model == "res.partner":
                partners = {i: i for i in ids}
            elif "partner_id" in records._fields and (
                records._fields["partner_id"].type == "many2one"
                and records._fields["partner_id"].comodel_name == "res.partner"
            ):
                partners = {r.id: r.partner_id.id for r in records}
            for id_ in ids:
                found[(model, id_)] = (names.get(id_), partners.get(id_))
        for vals in vals_list:
            key = (vals.get("res_model"), vals.get("res_id"))
            if key in found:
                name, partner = found[key]
                vals.setdefault("res_name", name)
                if partner and not vals.get("partner_id"):
                    vals["partner_id"] = partner

    def _notify_assignees(self):
        """A reminder set for a colleague: tell the colleague by e-mail."""
        if self.env.context.get("mail_activity_quiet"):  # bulk loads, demo data
            return
        uid = self.env.uid
        for_others = self.filtered(lambda a: a.user_id.id != uid and a.user_id.email)
        if not for_others:
            return
        author = self.env.user.name
        mails = []
        for activity in for_others:
            user = activity.user_id
            env = self.env.with_context(lang=user.lang)
            subject = tr(
                env,
                "%(author)s set you an activity: %(summary)s",
                author=author,
                summary=activity.summary,
            )
            lines = [
                subject,
                tr(env, "Due date: %(date)s", date=activity.date_deadline.strftime("%d.%m.%Y")),
            ]
            if activity.res_name:
                lines.append(tr(env, "Related to: %(name)s", name=activity.res_name))
            if activity.note:
                lines.append(activity.note)
            mails.append(
                {
                    "email_to": user.email,
                    "subject": subject,
                    "body_text": "\n".join(lines),
                    "res_model": "mail.activity",
                    "res_id": activity.id,
                }
            )
        self.env["mail.mail"].sudo().create(mails).send()

    # -- actions --------------------------------------------------------------------------------
    def action_done(self, result=None):
        """Mark the activities done with a result; the result goes to the linked record's
        history. A result is required: what happened is the point of the record.

        Without ``result`` each activity's own ``result`` field is used (the form: type the
        result, then press the button)."""
        if not self:
            return True
        if result is not None and not isinstance(result, str):
            raise ValidationError(tr(self.env, "The result is text"), "result")
        result = (result or "").strip() or None
        if result is None and any(not (a.result or "").strip() for a in self):
            raise ValidationError(
                tr(self.env, "Write the result of the activity to mark it done"),
                "result",
            )
        already = self.filtered(lambda a: a.done)
        if already:
            raise UserError(
                tr(self.env, "Activity %(name)r is already done", name=already[0].summary)
            )
        vals = {"done": True, "date_done": utcnow()}
        if result is not None:
            vals["result"] = result
        tasks = self.filtered(lambda a: a.activity_category == "task")
        self.write(vals)
        if tasks:
            tasks.write({"task_state": "done"})
        self._post_results()
        return True

    def action_done_schedule_next(self, result=None, next_vals=None):
        """Mark one activity done and plan the next on the same record, in one transaction.

        ``next_vals`` are the new activity's values (type, summary, due date, ...); what is
        not given comes from the done one, the due date from the type. Returns the new
        activity's id and the address of its form."""
        self.ensure_one()
        if next_vals is not None and not isinstance(next_vals, dict):
            raise ValidationError(
                tr(self.env, "The next activity's values must be a mapping"), "next_vals"
            )
        next_vals = dict(next_vals or {})
        with self.env.atomic():
            self.action_done(result)
            vals = {
                "res_model": self.res_model,
                "res_id": self.res_id,
                "partner_id": self.partner_id.id,
                "activity_type_id": self.activity_type_id.id,
                "user_id": self.user_id.id,
                **next_vals,
            }
            following = self.create(vals)
        return {"id": following.id, "url": f"/web/mail.activity/{following.id}"}

    @api.model
    def log_done(self, vals, result):
        """Record something already done (a call that just ended, a letter sent): the
        activity is created done, with its result in the linked record's history. For
        telephony and mail addons; one transaction."""
        with self.env.atomic():
            activity = self.with_context(mail_activity_quiet=True).create(dict(vals))
            activity.action_done(result)
        return activity.with_context(self.env.context)

    def _post_results(self):
        """One history entry per linked record, written in one batch."""
        notes = []
        for activity in self.filtered(lambda a: a.res_model and a.res_id):
            kind = tr(self.env, activity.activity_type_id.name or "")
            notes.append(
                (
                    activity.res_model,
                    activity.res_id,
                    activity.res_name,
                    f"{kind} «{activity.summary}»: {activity.result}",
                )
            )
        post_notes(self.env, notes)

    def action_set_task_state(self, task_state=None):
        """Move tasks to another status; "done" needs :meth:`action_done` and a result."""
        if task_state not in dict(TASK_STATES) or task_state == "done":
            raise ValidationError(
                tr(self.env, "Unknown task status %(state)r", state=task_state),
                "task_state",
            )
        self.write({"task_state": task_state})
        return True


def _ids_of(value) -> list[int]:
    """User ids from a list of ids or x2many commands ``[(6, 0, ids)]`` / ``[(4, id)]``."""
    if not value:
        return []
    ids = []
    for item in value:
        if isinstance(item, int) and not isinstance(item, bool):
            ids.append(item)
        elif isinstance(item, list | tuple) and item and item[0] == 6:
            ids += list(item[2])
        elif isinstance(item, list | tuple) and item and item[0] == 4:
            ids.append(item[1])
        elif isinstance(item, list | tuple) and item and item[0] == 5:
            continue
        else:
            raise ValidationError(f"user_ids: cannot read {item!r} as a user id", "user_ids")
    return list(dict.fromkeys(ids))
