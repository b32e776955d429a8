"""crm.webform: a website form's mapping to leads, and crm.webform.rate, its rate limit."""

import secrets

from core import Model, ValidationError, api, fields, tr

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
