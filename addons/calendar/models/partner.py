"""res.partner, extended: the client card lists the partner's activities."""

from __future__ import annotations

from core import Model, fields


class Partner(Model):
    """The client card lists the partner's activities."""

    _inherit = "res.partner"

    activity_ids = fields.One2many("mail.activity", "partner_id", "Activities")
