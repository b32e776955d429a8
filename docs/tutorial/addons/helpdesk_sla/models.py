"""helpdesk.ticket, extended: a deadline from the priority, and whether it was missed."""

import datetime

from core import Model, fields

# How long a customer may wait for an answer, by ticket priority.
HOURS_BY_PRIORITY = {"0": 72, "1": 24, "2": 8, "3": 2}


class Ticket(Model):
    _inherit = "helpdesk.ticket"

    sla_deadline = fields.Datetime("Answer before", help="Set from the priority at first.")
    sla_failed = fields.Boolean("SLA missed", readonly=True, copy=False)

    def create(self, vals_list):
        """Give the new tickets a deadline from their priority, unless one is given."""
        if isinstance(vals_list, dict):
            vals_list = [vals_list]
        now = datetime.datetime.now(datetime.UTC)
        default_priority = self.default_get(["priority"]).get("priority") or "1"
        vals_list = [dict(vals) for vals in vals_list]
        for vals in vals_list:
            if "sla_deadline" not in vals:
                hours = HOURS_BY_PRIORITY[vals.get("priority") or default_priority]
                vals["sla_deadline"] = now + datetime.timedelta(hours=hours)
        return super().create(vals_list)

    def action_close(self):
        """Close the tickets as helpdesk does; mark those past their deadline."""
        now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        late = self.filtered(lambda ticket: ticket.sla_deadline and ticket.sla_deadline < now)
        result = super().action_close()
        late.write({"sla_failed": True})
        return result
