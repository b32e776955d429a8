"""``bench.partner`` and ``bench.lead``: eight fields of common kinds and one stored compute."""

from __future__ import annotations

from decimal import Decimal

from core import Model, api, fields

STAGES = [
    ("new", "New"),
    ("qualified", "Qualified"),
    ("proposal", "Proposal"),
    ("won", "Won"),
    ("lost", "Lost"),
]


class BenchPartner(Model):
    _name = "bench.partner"
    _description = "Benchmark partner"

    name = fields.Char("Name", required=True, index="trigram")


class BenchLead(Model):
    _name = "bench.lead"
    _description = "Benchmark lead"

    name = fields.Char("Name", required=True)
    email = fields.Char("E-mail")
    partner_id = fields.Many2one("bench.partner", "Partner", ondelete="set null")
    stage = fields.Selection(STAGES, "Stage", default="new")
    priority = fields.Integer("Priority", default=1)
    active = fields.Boolean("Active", default=True)
    expected_revenue = fields.Monetary("Expected revenue")
    probability = fields.Float("Probability")
    weighted_revenue = fields.Monetary(
        "Weighted revenue", compute="_compute_weighted_revenue", store=True
    )

    @api.depends("expected_revenue", "probability")
    def _compute_weighted_revenue(self):
        for lead in self:
            revenue = lead.expected_revenue
            if revenue is None:
                lead.weighted_revenue = None
            else:
                lead.weighted_revenue = revenue * Decimal(repr(lead.probability or 0.0)) / 100


MODELS = [BenchPartner, BenchLead]
