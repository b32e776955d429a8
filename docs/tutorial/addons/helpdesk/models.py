"""Tickets, the stages they go through, their tags and the time spent on them."""

import datetime

from core import Model, UserError, ValidationError, api, fields

PRIORITIES = [("0", "Low"), ("1", "Normal"), ("2", "High"), ("3", "Urgent")]


class Stage(Model):
    _name = "helpdesk.stage"
    _description = "Helpdesk stage"
    _order = "sequence, id"

    name = fields.Char("Name", required=True)
    sequence = fields.Integer("Sequence", default=10)
    is_closed = fields.Boolean("Closing stage", help="Tickets in this stage are done.")
    fold = fields.Boolean("Folded in kanban")


class Tag(Model):
    _name = "helpdesk.tag"
    _description = "Helpdesk tag"
    _order = "name"
    _sql_constraints = [("name_uniq", "unique(name)", "A tag with this name already exists.")]

    name = fields.Char("Name", required=True)
    color = fields.Integer("Color", default=0)


def _default_stage(model):
    """The first stage that is not a closing one."""
    return model.env["helpdesk.stage"].search([("is_closed", "=", False)], limit=1).id


class Ticket(Model):
    _name = "helpdesk.ticket"
    _description = "Helpdesk ticket"
    _order = "priority desc, id"
    _sql_constraints = [("number_uniq", "unique(number)", "Another ticket has this number.")]

    number = fields.Char("Number", readonly=True, copy=False)
    name = fields.Char("Subject", required=True)
    description = fields.Text("Description")
    customer_email = fields.Char("Customer e-mail", index=True)
    user_id = fields.Many2one("res.users", "Assigned to")
    stage_id = fields.Many2one(
        "helpdesk.stage", "Stage", ondelete="restrict", default=_default_stage
    )
    priority = fields.Selection(PRIORITIES, "Priority", default="1")
    tag_ids = fields.Many2many("helpdesk.tag", "Tags")
    line_ids = fields.One2many("helpdesk.ticket.timesheet", "ticket_id", "Time spent")
    hours_spent = fields.Float("Hours spent", compute="_compute_totals", store=True)
    cost_total = fields.Monetary("Cost", compute="_compute_totals", store=True)
    active = fields.Boolean("Active", default=True)
    # Since 1.1; migrations/1.1.py fills it in for tickets closed before.
    date_closed = fields.Datetime("Closed on", readonly=True, copy=False)

    @api.depends("line_ids.hours", "line_ids.cost")
    def _compute_totals(self):
        for ticket in self:
            ticket.hours_spent = sum(ticket.line_ids.mapped("hours"))
            ticket.cost_total = sum(line.cost or 0 for line in ticket.line_ids)

    @api.constrains("customer_email")
    def _check_customer_email(self):
        for ticket in self:
            email = ticket.customer_email
            if email and ("@" not in email or " " in email.strip()):
                raise ValidationError(f"{email!r} is not an e-mail address", "customer_email")

    def create(self, vals_list):
        """Number the new tickets from the helpdesk.ticket sequence."""
        if isinstance(vals_list, dict):
            vals_list = [vals_list]
        vals_list = [dict(vals) for vals in vals_list]  # leave the caller's dicts alone
        for vals in vals_list:
            if not vals.get("number"):
                vals["number"] = self.env["ir.sequence"].next_by_code("helpdesk.ticket")
        return super().create(vals_list)

    def action_close(self):
        """Move the tickets to the closing stage and note when they were closed."""
        stage = self.env["helpdesk.stage"].search([("is_closed", "=", True)], limit=1)
        if not stage:
            raise UserError("There is no closing stage: mark a stage as closing first.")
        self.write({"stage_id": stage.id, "date_closed": datetime.datetime.now(datetime.UTC)})
        return True


class TicketTimesheet(Model):
    _name = "helpdesk.ticket.timesheet"
    _description = "Time spent on a ticket"
    _order = "date, id"

    ticket_id = fields.Many2one("helpdesk.ticket", "Ticket", required=True, ondelete="cascade")
    name = fields.Char("Work done", required=True)
    date = fields.Date("Date", default=lambda model: datetime.date.today())
    user_id = fields.Many2one("res.users", "Done by", default=lambda model: model.env.uid)
    hours = fields.Float("Hours", required=True)
    cost = fields.Monetary("Cost")

    @api.constrains("hours")
    def _check_hours(self):
        for line in self:
            if not 0 < line.hours <= 24:
                raise ValidationError(f"{line.hours} hours: a line covers 0 to 24 hours", "hours")
