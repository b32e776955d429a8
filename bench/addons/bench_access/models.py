"""The salesman of a benchmark lead."""

from core import fields
from core.models import Model


class BenchLeadOwner(Model):
    _inherit = "bench.lead"

    user_id = fields.Many2one("res.users", "Salesman", index=True)
