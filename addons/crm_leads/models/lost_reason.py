"""crm.lost.reason: why deals are lost (the lost-reasons report counts them)."""

from core import Model, fields


class LostReason(Model):
    _name = "crm.lost.reason"
    _description = "Reason a deal was lost"
    _order = "name"

    name = fields.Char("Reason", required=True, translate=True)
    active = fields.Boolean("Active", default=True)
