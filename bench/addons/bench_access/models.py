"""The salesman of a benchmark lead."""

from core import Model, fields


class BenchLeadOwner(Model):
    _inherit = "bench.lead"

    user_id = fields.Many2one("res.users", "Salesman", index=True)
