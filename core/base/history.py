"""Record history (the chatter): creation, tracked changes, state changes, notes, deletion."""

from __future__ import annotations

from core.orm import fields
from core.orm.models import Model


class Message(Model):
    """One entry of a record's history: an event (with tracked values) or a note."""

    _name = "mail.message"
    _description = "History entry"
    _order = "date desc, id desc"

    model = fields.Char("Model", required=True, index=True)
    res_id = fields.Integer("Record id", required=True, index=True)
    record_name = fields.Char("Record")
    message_type = fields.Selection(
        [("notification", "Change"), ("comment", "Note")],
        "Type",
        required=True,
        default="notification",
    )
    event = fields.Selection(
        [("created", "Created"), ("changed", "Changed"), ("deleted", "Deleted"), ("note", "Note")],
        "Event",
        required=True,
        default="note",
    )
    body = fields.Text("Text")
    author_id = fields.Many2one("res.users", "Author", ondelete="set null")
    date = fields.Datetime("Date", required=True)
    tracking_value_ids = fields.One2many("mail.tracking.value", "message_id", "Changes")


class TrackingValue(Model):
    """Old and new value of one tracked field in one change."""

    _name = "mail.tracking.value"
    _description = "Tracked change"
    _order = "id"

    message_id = fields.Many2one(
        "mail.message", "Entry", required=True, ondelete="cascade", index=True
    )
    field = fields.Char("Field", required=True)
    field_desc = fields.Char("Field label")
    field_type = fields.Char("Field type")
    old_value = fields.Text("Old value")
    new_value = fields.Text("New value")
    old_raw = fields.Json("Old value (raw)")
    new_raw = fields.Json("New value (raw)")


MODELS = (Message, TrackingValue)
