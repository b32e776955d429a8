"""UTM: the source, medium and campaign a lead came from."""

from core import Model, fields


class UtmSource(Model):
    _name = "utm.source"
    _description = "Lead source"
    _order = "name"
    _sql_constraints = [("name_uniq", "unique(name)", "A source with this name already exists.")]

    name = fields.Char("Source name", required=True, translate=True)
    team_id = fields.Many2one(
        "crm.team",
        "Sales team",
        help="Leads from this source go to this team and are assigned by its mode.",
    )
    active = fields.Boolean("Active", default=True)


class UtmMedium(Model):
    _name = "utm.medium"
    _description = "Marketing medium"
    _order = "name"
    _sql_constraints = [("name_uniq", "unique(name)", "A medium with this name already exists.")]

    name = fields.Char("Medium name", required=True, translate=True)
    active = fields.Boolean("Active", default=True)


class UtmCampaign(Model):
    _name = "utm.campaign"
    _description = "Marketing campaign"
    _order = "name"
    _sql_constraints = [("name_uniq", "unique(name)", "A campaign with this name already exists.")]

    name = fields.Char("Campaign name", required=True)
    active = fields.Boolean("Active", default=True)
