"""mail.activity.type: the kinds of activities (call, meeting, task, e-mail...)."""

from __future__ import annotations

from core import Model, fields, tr

ACTIVITY_CATEGORIES = [
    ("call", "Call"),
    ("meeting", "Meeting"),
    ("task", "Task"),
    ("email", "Email"),
    ("other", "Other"),
]


class ActivityType(Model):
    _name = "mail.activity.type"
    _description = "Activity type"
    _order = "sequence, id"

    name = fields.Char("Name", required=True, translate=True)
    category = fields.Selection(ACTIVITY_CATEGORIES, "Kind", default="other", required=True)
    summary = fields.Char("Default summary")
    delay_count = fields.Integer(
        "Days to the deadline", default=0, help="The deadline of a new activity of this type"
    )
    icon = fields.Char("Icon")
    sequence = fields.Integer("Sequence", default=10)
    active = fields.Boolean("Active", default=True)

    def _compute_display_name(self):
        # The shipped types' names are English data; the catalog has them in Russian.
        for kind in self:
            kind.display_name = tr(self.env, kind.name or "")
