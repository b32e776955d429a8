"""crm.team and its crm.assignment.rule: who gets the leads that arrive."""

from core import Model, ValidationError, api, fields, tr

ASSIGNMENT_MODES = [
    ("manual", "Manual"),
    ("round_robin", "Round robin"),
    ("least_loaded", "Least loaded"),
    ("rules", "By rules"),
]


class Team(Model):
    _name = "crm.team"
    _description = "Sales team"
    _order = "sequence, id"

    name = fields.Char("Sales team", required=True)
    sequence = fields.Integer("Sequence", default=10)
    user_id = fields.Many2one("res.users", "Team leader")
    member_ids = fields.Many2many(
        "res.users",
        "Salesmen",
        relation="crm_team_member_rel",
        column1="team_id",
        column2="user_id",
    )
    assignment_mode = fields.Selection(ASSIGNMENT_MODES, "Assignment", default="manual")
    # The number of leads handed out by round robin so far; the next lead goes to member
    # number rr_counter modulo the number of members (taken with UPDATE ... RETURNING).
    rr_counter = fields.Integer("Round robin turns", default=0, readonly=True, copy=False)
    rule_ids = fields.One2many("crm.assignment.rule", "team_id", "Assignment rules")
    active = fields.Boolean("Active", default=True)


class AssignmentRule(Model):
    _name = "crm.assignment.rule"
    _description = "Lead assignment rule"
    _order = "sequence, id"

    team_id = fields.Many2one("crm.team", "Sales team", required=True, ondelete="cascade")
    sequence = fields.Integer("Sequence", default=10)
    name = fields.Char("Description")
    domain = fields.Json(
        "Leads matching", help='A domain on leads, e.g. [["source_id.name", "=", "Website"]]'
    )
    user_id = fields.Many2one("res.users", "Salesman", required=True, ondelete="cascade")

    @api.constrains("domain")
    def _check_domain(self):
        from core import DomainError
        from core import normalize_domain as normalize

        for rule in self:
            try:
                normalize(rule.domain or [])
                self.env["crm.lead"].sudo().search_count(rule.domain or [], limit=1)
            except (DomainError, TypeError, ValueError) as exc:
                raise ValidationError(
                    tr(self.env, "Rule %(rule)s: %(error)s", rule=rule.name or rule.id, error=exc),
                    "domain",
                ) from None
