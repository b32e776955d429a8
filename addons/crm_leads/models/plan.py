"""crm.plan: a salesman's planned amount for a month."""

import datetime

from core import Model, ValidationError, api, fields, tr


def _first_of_month(value):
    return value.replace(day=1) if value else value


class Plan(Model):
    _name = "crm.plan"
    _description = "Sales plan"
    _order = "month desc, user_id"
    _sql_constraints = [
        (
            "user_month_uniq",
            "unique(user_id, month)",
            "This salesman already has a plan for this month.",
        )
    ]

    user_id = fields.Many2one("res.users", "Salesman", required=True, ondelete="cascade")
    month = fields.Date("Month", required=True, help="Any day of the month; kept as its first.")
    amount = fields.Monetary("Planned amount", required=True)

    def create(self, vals_list):
        if isinstance(vals_list, dict):
            vals_list = [vals_list]
        vals_list = [dict(vals) for vals in vals_list]
        for vals in vals_list:
            if vals.get("month"):
                vals["month"] = _first_of_month(_as_date(vals["month"]))
        return super().create(vals_list)

    def write(self, vals):
        if vals.get("month"):
            vals = {**vals, "month": _first_of_month(_as_date(vals["month"]))}
        return super().write(vals)

    @api.constrains("amount")
    def _check_amount(self):
        for plan in self:
            if plan.amount is not None and plan.amount < 0:
                raise ValidationError(tr(self.env, "A plan cannot be negative"), "amount")


def _as_date(value):
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ValidationError(
            tr(None, "Month: expected a date YYYY-MM-DD, got %(value)r", value=value),
            "month",
        ) from None
