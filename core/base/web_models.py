"""Saved views of the web client (``ir.filters``): a list page's filters, grouping and columns."""

from core.orm import fields
from core.orm.models import Model


class SavedView(Model):
    _name = "ir.filters"
    _description = "Saved view"
    _order = "model_id, name, id"

    name = fields.Char("Name", required=True)
    model_id = fields.Char("Model", required=True, index=True)
    user_id = fields.Many2one(
        "res.users", "User", ondelete="cascade", index=True, help="Empty: shared with everyone"
    )
    query = fields.Char("Query", help="The page's filters, grouping and columns")
    is_default = fields.Boolean("Default", default=False)


MODELS = (SavedView,)
