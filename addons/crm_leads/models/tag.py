"""crm.tag: free tags on leads and deals."""

from core import Model, fields


class Tag(Model):
    _name = "crm.tag"
    _description = "CRM tag"
    _order = "name"
    _sql_constraints = [("name_uniq", "unique(name)", "A tag with this name already exists.")]

    name = fields.Char("Tag name", required=True)
    color = fields.Integer("Color", default=0)
