"""The column mapping a user chose when importing into a model, offered again next time."""

from __future__ import annotations

from core.orm import fields
from core.orm.models import Model


class ImportMapping(Model):
    """One row per user and model: ``{column header: field path}`` of the last import.

    Read and written by the import pages as trusted code for the signed-in user only, so it
    needs no access rows of its own.
    """

    _name = "base_import.mapping"
    _description = "Import column mapping"
    _sql_constraints = [
        ("user_model_uniq", "unique(user_id, model)", "One saved mapping per user and model.")
    ]

    user_id = fields.Many2one("res.users", "User", required=True, ondelete="cascade")
    model = fields.Char("Model", required=True)
    mapping = fields.Json("Mapping")

    def saved(self, uid, model_name) -> dict:
        """The mapping ``uid`` last used for ``model_name`` (empty if none)."""
        found = self.sudo().search([("user_id", "=", uid), ("model", "=", model_name)], limit=1)
        return dict(found.mapping or {}) if found else {}

    def remember(self, uid, model_name, headers, paths):
        """Keep ``{header: path}`` for next time, merged over what was saved before."""
        mine = self.sudo().search([("user_id", "=", uid), ("model", "=", model_name)], limit=1)
        chosen = {h: (p or "") for h, p in zip(headers, paths, strict=False) if h}
        if mine:
            mine.write({"mapping": {**(mine.mapping or {}), **chosen}})
        else:
            self.sudo().create({"user_id": uid, "model": model_name, "mapping": chosen})


MODELS = (ImportMapping,)
