"""What the CRM is configured with: stages, lost reasons, tags, UTM, teams, web forms, plans."""

import datetime
import secrets

from core import Model, ValidationError, api, fields, tr

ASSIGNMENT_MODES = [
    ("manual", "Manual"),
    ("round_robin", "Round robin"),
    ("least_loaded", "Least loaded"),
    ("rules", "By rules"),
]

# The lead fields a web form may fill: contact details and words, never who owns the lead,
# its stage or anything else that decides access or money.
WEBFORM_TARGETS = (
    "name",
    "contact_name",
    "partner_name",
    "email_from",
    "phone",
    "description",
    "function",
    "website",
    "city",
)


class Stage(Model):
    _name = "crm.stage"
    _description = "CRM stage"
    _order = "sequence, id"

    name = fields.Char("Stage name", required=True, translate=True)
    sequence = fields.Integer("Sequence", default=10)
    probability = fields.Float("Probability (%)", default=10.0, digits=2)
    fold = fields.Boolean("Folded in pipeline")
    is_won = fields.Boolean("Is won stage", help="Deals in this stage are won.")
    user_id = fields.Many2one(
        "res.users", "Stage responsible", help="Who looks after deals in this stage."
    )
    deadline_days = fields.Integer(
        "Days in stage", help="How long a deal may stay in this stage; 0 means no deadline."
    )
    requirements = fields.Text("Requirements", help="What must be done before moving on.")

    @api.constrains("probability")
    def _check_probability(self):
        for stage in self:
            if not 0 <= (stage.probability or 0) <= 100:
                raise ValidationError(
                    tr(
                        self.env,
                        "Probability must be between 0 and 100, got %(value)s",
                        value=stage.probability,
                    ),
                    "probability",
                )


class LostReason(Model):
    _name = "crm.lost.reason"
    _description = "Reason a deal was lost"
    _order = "name"

    name = fields.Char("Reason", required=True, translate=True)
    active = fields.Boolean("Active", default=True)


class Tag(Model):
    _name = "crm.tag"
    _description = "CRM tag"
    _order = "name"
    _sql_constraints = [("name_uniq", "unique(name)", "A tag with this name already exists.")]

    name = fields.Char("Tag name", required=True)
    color = fields.Integer("Color", default=0)


class UtmSource(Model):
    _name = "utm.source"
    _description = "Lead source"
    _order = "name"
    _sql_constraints = [("name_uniq", "unique(name)", "A source with this name already exists.")]

    name = fields.Char("Source name", required=True, translate=True)
    team_id = fields.Many2one(
        "crm.team",
        "Sales team",
        help="Leads from this source go to this team and are assigned by its mode.",
    )
    active = fields.Boolean("Active", default=True)


class UtmMedium(Model):
    _name = "utm.medium"
    _description = "Marketing medium"
    _order = "name"
    _sql_constraints = [("name_uniq", "unique(name)", "A medium with this name already exists.")]

    name = fields.Char("Medium name", required=True, translate=True)
    active = fields.Boolean("Active", default=True)


class UtmCampaign(Model):
    _name = "utm.campaign"
    _description = "Marketing campaign"
    _order = "name"
    _sql_constraints = [("name_uniq", "unique(name)", "A campaign with this name already exists.")]

    name = fields.Char("Campaign name", required=True)
    active = fields.Boolean("Active", default=True)


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


def _new_key(_model):
    return secrets.token_urlsafe(16)


class WebForm(Model):
    _name = "crm.webform"
    _description = "Website form that creates leads"
    _order = "name"
    _sql_constraints = [("key_uniq", "unique(key)", "Another web form has this key.")]

    name = fields.Char("Form name", required=True)
    key = fields.Char(
        "Key",
        required=True,
        default=_new_key,
        copy=False,
        help="The form posts to /crm/webform/<key>.",
    )
    field_map = fields.Json(
        "Field mapping",
        help='The site\'s field names to lead fields, e.g. {"fio": "contact_name", "tel": "phone"}',
    )
    required_fields = fields.Json(
        "Required fields", help='The site\'s field names that must be filled, e.g. ["tel"]'
    )
    honeypot_field = fields.Char(
        "Honeypot field", help="A hidden field that people leave empty and robots fill in."
    )
    thanks_url = fields.Char("Thank-you page", help="Where the visitor goes after posting.")
    source_id = fields.Many2one("utm.source", "Source")
    team_id = fields.Many2one("crm.team", "Sales team")
    lead_name = fields.Char("Lead title", help="Title of the leads when the form sends none.")
    rate_limit = fields.Integer("Posts per minute per IP", default=60)
    max_body_bytes = fields.Integer("Largest post (bytes)", default=65536)
    active = fields.Boolean("Active", default=True)

    @api.constrains("field_map", "required_fields", "rate_limit", "max_body_bytes")
    def _check_mapping(self):
        for form in self:
            mapping = form.field_map or {}
            if not isinstance(mapping, dict):
                raise ValidationError(
                    tr(self.env, "The field mapping is a table of names"), "field_map"
                )
            for site_name, target in mapping.items():
                if target not in WEBFORM_TARGETS:
                    allowed = ", ".join(WEBFORM_TARGETS)
                    raise ValidationError(
                        tr(
                            self.env,
                            "Field mapping %(name)r: %(target)r is not one of %(allowed)s",
                            name=site_name,
                            target=target,
                            allowed=allowed,
                        ),
                        "field_map",
                    )
            required = form.required_fields or []
            if not isinstance(required, list) or not all(isinstance(n, str) for n in required):
                raise ValidationError(
                    tr(self.env, "Required fields is a list of names"), "required_fields"
                )
            if (form.rate_limit or 0) < 1:
                raise ValidationError(tr(self.env, "At least one post per minute"), "rate_limit")
            if (form.max_body_bytes or 0) < 256:
                raise ValidationError(
                    tr(self.env, "A post may have at least 256 bytes"), "max_body_bytes"
                )


class WebFormRate(Model):
    """Posts per form, IP and minute: shared by every server process through the database."""

    _name = "crm.webform.rate"
    _description = "Web form posts per minute"
    _sql_constraints = [
        ("minute_uniq", "unique(webform_id, ip, minute)", "One counter per form, IP and minute.")
    ]

    webform_id = fields.Many2one("crm.webform", "Web form", required=True, ondelete="cascade")
    ip = fields.Char("IP address", required=True)
    minute = fields.Integer("Minute", required=True, help="Minutes since 1970.")
    hits = fields.Integer("Posts", default=0)


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


MODELS = [
    Stage,
    LostReason,
    Tag,
    UtmSource,
    UtmMedium,
    UtmCampaign,
    Team,
    AssignmentRule,
    WebForm,
    WebFormRate,
    Plan,
]
