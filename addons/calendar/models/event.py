"""Calendar events: meetings with attendees, linked to a record, held or not held."""

from __future__ import annotations

from core import Model, UserError, ValidationError, api, fields, tr

from ..links import check_link, post_notes
from .activity import current_user

EVENT_STATES = [("planned", "Planned"), ("held", "Held"), ("not_held", "Not held")]


class CalendarEvent(Model):
    _name = "calendar.event"
    _description = "Calendar event"
    _order = "start, id"
    _track = True

    name = fields.Char("Meeting subject", required=True, tracking=True)
    start = fields.Datetime("Start", required=True, index=True, tracking=True)
    stop = fields.Datetime("End", required=True, index=True, tracking=True)
    allday = fields.Boolean("All day", default=False)
    duration = fields.Float("Duration (hours)", compute="_compute_duration")
    location = fields.Char("Location")
    description = fields.Text("Description")
    user_id = fields.Many2one(
        "res.users", "Organiser", required=True, index=True, default=current_user, tracking=True
    )
    partner_ids = fields.Many2many(
        "res.partner",
        "Attendees",
        relation="calendar_event_res_partner_rel",
        column1="event_id",
        column2="partner_id",
    )
    attendee_user_ids = fields.Many2many(
        "res.users",
        "Colleagues attending",
        relation="calendar_event_res_users_rel",
        column1="event_id",
        column2="user_id",
    )
    res_model = fields.Char("Related model", index=True)
    res_id = fields.Integer("Related record", index=True)
    state = fields.Selection(EVENT_STATES, "Status", default="planned", required=True)
    result = fields.Text("Result", copy=False)

    def _compute_duration(self):
        for event in self:
            if event.start and event.stop:
                event.duration = round((event.stop - event.start).total_seconds() / 3600, 2)
            else:
                event.duration = 0.0

    @api.constrains("start", "stop")
    def _check_dates(self):
        for event in self:
            if event.start and event.stop and event.stop < event.start:
                raise ValidationError(tr(self.env, "An event cannot end before it starts"), "stop")

    def create(self, vals_list):
        single = isinstance(vals_list, dict)
        vals_list = [vals_list] if single else list(vals_list)
        for vals in vals_list:
            check_link(self.env, vals.get("res_model"), vals.get("res_id"))
        return super().create(vals_list)

    def action_mark_held(self, result=None):
        """The meeting took place; the result (given, or typed in the form) goes to the
        linked record's history."""
        return self._close("held", "Meeting «%(name)s» held", result)

    def action_mark_not_held(self, result=None):
        """The meeting did not take place; the reason goes to the linked record's history."""
        return self._close("not_held", "Meeting «%(name)s» did not take place", result)

    def _close(self, state, note, result):
        if result is not None and not isinstance(result, str):
            raise ValidationError(tr(self.env, "The result is text"), "result")
        if self.filtered(lambda e: e.state != "planned"):
            raise UserError(tr(self.env, "Only a planned event can be closed"))
        vals = {"state": state}
        if result and result.strip():
            vals["result"] = result.strip()
        self.write(vals)
        linked = self.filtered(lambda e: e.res_model and e.res_id)
        names = {}
        for model in set(linked.mapped("res_model")):
            ids = [e.res_id for e in linked if e.res_model == model]
            names[model] = self.env[model].sudo().browse(ids).display_names()
        post_notes(
            self.env,
            [
                (
                    event.res_model,
                    event.res_id,
                    names[event.res_model].get(event.res_id),
                    tr(self.env, note, name=event.name)
                    + (f": {event.result}" if event.result else ""),
                )
                for event in linked
            ],
        )
        return True
