"""``bench.web.deal``: 12 fields and 2 many2ones, lines, 8 stages and the views the web bench opens."""

from decimal import Decimal

from core import Model, api, fields, hookimpl
from core import views as V


class Stage(Model):
    _name = "bench.web.stage"
    _order = "sequence, id"

    name = fields.Char("Name", required=True)
    sequence = fields.Integer("Sequence", default=10)
    fold = fields.Boolean("Folded")


class Customer(Model):
    _name = "bench.web.customer"

    name = fields.Char("Name", required=True)


class Deal(Model):
    _name = "bench.web.deal"
    _order = "id desc"

    name = fields.Char("Name", required=True)
    email = fields.Char("E-mail")
    phone = fields.Char("Phone")
    customer_id = fields.Many2one("bench.web.customer", "Customer", index=True)
    stage_id = fields.Many2one("bench.web.stage", "Stage", index=True)
    state = fields.Selection([("open", "Open"), ("won", "Won"), ("lost", "Lost")], "State")
    priority = fields.Integer("Priority")
    probability = fields.Float("Probability")
    amount = fields.Monetary("Amount")
    date_deadline = fields.Date("Deadline")
    description = fields.Text("Description")
    active = fields.Boolean("Active", default=True)
    line_ids = fields.One2many("bench.web.line", "deal_id", "Lines")
    amount_total = fields.Monetary("Total", compute="_compute_total", store=True)

    @api.depends("line_ids.subtotal")
    def _compute_total(self):
        for deal in self:
            deal.amount_total = sum((line.subtotal or 0) for line in deal.line_ids)


class Line(Model):
    _name = "bench.web.line"
    _order = "id"

    deal_id = fields.Many2one("bench.web.deal", "Deal", required=True, ondelete="cascade")
    name = fields.Char("Description", required=True)
    qty = fields.Float("Quantity", default=1.0)
    price = fields.Monetary("Price")
    subtotal = fields.Monetary("Subtotal", compute="_compute_subtotal", store=True)

    @api.depends("qty", "price")
    def _compute_subtotal(self):
        for line in self:
            line.subtotal = Decimal(str(line.qty or 0)) * (line.price or Decimal(0))


@hookimpl
def register_models():
    return [Stage, Customer, Deal, Line]


@hookimpl
def register_views():
    columns = ["name", "customer_id", "stage_id", "state", "priority", "amount", "date_deadline"]
    return [
        V.ListView("bench.web.deal", columns),
        V.FormView(
            "bench.web.deal",
            body=[
                V.Group("main", columns + ["email", "phone", "probability", "amount_total"]),
                V.Field("line_ids", fields=("name", "qty", "price", "subtotal")),
            ],
        ),
        V.KanbanView(
            "bench.web.deal",
            group_by="stage_id",
            fields=["name", "customer_id", "amount"],
            sum_field="amount",
            limit=250,
        ),
        V.SearchView(
            "bench.web.deal",
            fields=["name", "email"],
            filters=[
                V.Filter("open", "Open", [("state", "=", "open")]),
                V.Filter("kanban", "Kanban sample", [("priority", "=", 7)]),
            ],
        ),
        V.Action("bench_web.deals", "Deals", "bench.web.deal", views=("list", "kanban", "form")),
    ]
