"""Technical models every Kontora database has, and the people and money they refer to."""

from __future__ import annotations

import datetime

from core.exceptions import UserError, ValidationError
from core.orm import api, fields
from core.orm.models import Model

LANGS = (("en", "English"), ("ru", "Русский"))


class Module(Model):
    _name = "ir.module.module"
    _description = "Addon"
    _order = "name"
    _sql_constraints = [("name_uniq", "unique(name)", "Each addon is recorded once.")]

    name = fields.Char("Technical name", required=True)
    state = fields.Selection(
        [("uninstalled", "Not installed"), ("installed", "Installed")],
        "State",
        default="uninstalled",
        required=True,
    )
    latest_version = fields.Char("Installed version")
    demo = fields.Boolean("Demo data loaded", default=False)


class ModelData(Model):
    """External ids: a stable name (``addon.name``) for a record that data files create."""

    _name = "ir.model.data"
    _description = "External id"
    _order = "module, name"
    _sql_constraints = [
        ("module_name_uniq", "unique(module, name)", "An external id must be unique per addon.")
    ]

    module = fields.Char("Addon", required=True, index=True)
    name = fields.Char("Name", required=True)
    model = fields.Char("Model", required=True, index=True)
    res_id = fields.Integer("Record id", index=True)
    noupdate = fields.Boolean("Kept as the user edited it", default=False)


class ConfigParameter(Model):
    _name = "ir.config_parameter"
    _description = "System parameter"
    _rec_name = "key"
    _order = "key"
    _sql_constraints = [("key_uniq", "unique(key)", "A parameter key must be unique.")]

    key = fields.Char("Key", required=True)
    value = fields.Text("Value")

    def get_param(self, key, default=None):
        found = self.sudo().search([("key", "=", key)], limit=1)
        return found.value if found else default

    def set_param(self, key, value):
        found = self.sudo().search([("key", "=", key)], limit=1)
        if found:
            found.write({"value": value})
        else:
            self.sudo().create({"key": key, "value": value})


class CustomField(Model):
    """Fields that administrators add at run time; each is a real column."""

    _name = "ir.model.fields"
    _description = "Custom field"
    _order = "model, name"
    _sql_constraints = [
        ("model_name_uniq", "unique(model, name)", "A model cannot have two fields with one name.")
    ]

    CUSTOM_TYPES = [
        "char",
        "text",
        "integer",
        "float",
        "monetary",
        "date",
        "datetime",
        "boolean",
        "selection",
        "many2one",
    ]

    model = fields.Char("Model", required=True, index=True)
    name = fields.Char("Technical name", required=True, help="Starts with x_, e.g. x_level")
    field_description = fields.Char("Label", required=True)
    help = fields.Text("Help")
    ttype = fields.Selection([(t, t) for t in CUSTOM_TYPES], "Type", required=True)
    selection_values = fields.Json("Values", help='For selections: [["key", "Label"], ...]')
    relation = fields.Char("Related model", help="For many2one: the model it points to")
    required = fields.Boolean("Required", default=False)
    index = fields.Boolean("Indexed", default=False)

    @api.constrains("name", "ttype", "model", "relation", "selection_values")
    def _check_definition(self):
        registry = self.env.registry
        for rec in self:
            if (
                not rec.name
                or not rec.name.startswith("x_")
                or not rec.name.replace("_", "").isalnum()
            ):
                raise ValidationError(
                    "A custom field's name starts with x_ and has only letters, digits and _",
                    "name",
                )
            if rec.name != rec.name.lower():
                raise ValidationError("A custom field's name is lower-case", "name")
            if rec.model not in registry.models or registry.models[rec.model]._abstract:
                raise ValidationError(f"Unknown model {rec.model!r}", "model")
            declared = registry.models[rec.model]._fields.get(rec.name)
            if declared is not None and not declared.manual:
                raise ValidationError(f"{rec.model} already has a field {rec.name!r}", "name")
            if rec.ttype == "many2one" and rec.relation not in registry.models:
                raise ValidationError(f"Unknown related model {rec.relation!r}", "relation")
            if rec.ttype == "selection":
                values = rec.selection_values or []
                if not values or not all(
                    isinstance(v, list | tuple) and len(v) == 2 for v in values
                ):
                    raise ValidationError(
                        'Selection values look like [["key", "Label"], ...]', "selection_values"
                    )
            if rec.required:
                raise ValidationError(
                    "A custom field cannot be required: existing records have no value for it",
                    "required",
                )

    def create(self, vals_list):
        records = super().create(vals_list)
        self.env.registry.apply_custom_fields(self.env, records)
        return records

    def write(self, vals):
        structural = {"name", "model", "ttype", "relation"} & set(vals)
        if structural:
            raise UserError(
                f"Cannot change {sorted(structural)[0]} of a custom field; add a new one instead"
            )
        result = super().write(vals)
        self.env.state.registry_changed = True
        return result

    def unlink(self):
        self.check_access("unlink")
        self.check_access_rule("unlink")
        self.env.registry.drop_custom_fields(self.env, self.exists())
        return super().unlink()


class Attachment(Model):
    _name = "ir.attachment"
    _description = "Attachment"
    _order = "id desc"

    name = fields.Char("Name", required=True)
    description = fields.Text("Description")
    res_model = fields.Char("Model", index=True)
    res_field = fields.Char("Field")
    res_id = fields.Integer("Record id", index=True)
    mimetype = fields.Char("Type")
    file_size = fields.Integer("Size")
    datas = fields.Binary("Content", attachment=False)


class Sequence(Model):
    """Document numbers like QT/2026/00001: unique and without gaps, even under load."""

    _name = "ir.sequence"
    _description = "Sequence"
    _order = "name"
    _sql_constraints = [("code_uniq", "unique(code)", "A sequence code must be unique.")]

    name = fields.Char("Name", required=True)
    code = fields.Char("Code", required=True)
    prefix = fields.Char("Prefix", help="Placeholders: %(year)s %(y)s %(month)s %(day)s")
    suffix = fields.Char("Suffix")
    padding = fields.Integer("Digits", default=5)
    number_increment = fields.Integer("Step", default=1)
    number_next = fields.Integer("Next number", default=1)
    use_date_range = fields.Boolean("Restart every year", default=True)
    active = fields.Boolean("Active", default=True)

    def next_by_code(self, code, date=None):
        """The next number of the sequence with ``code``, formatted with prefix and suffix."""
        found = self.sudo().search([("code", "=", code)], limit=1)
        if not found:
            raise UserError(f"No sequence with code {code!r}")
        return found._next(date)

    def _next(self, date=None):
        self.ensure_one()
        date = date or datetime.date.today()
        number = self._take_number(date)
        return self._format(date, number)

    def _take_number(self, date):
        """Increment the counter in the caller's transaction: the row lock makes it gapless."""
        db = self.env.db
        param = db.param
        step = self.number_increment or 1
        if self.use_date_range:
            Range = self.env.registry.tables["ir.sequence.date_range"]
            date_from = datetime.date(date.year, 1, 1)
            date_to = datetime.date(date.year, 12, 31)
            table = Range._meta.table_name
            db.execute_sql(
                f'INSERT INTO "{table}" (sequence_id, date_from, date_to, number_next) '
                f"VALUES ({param}, {param}, {param}, 1) ON CONFLICT (sequence_id, date_from) DO NOTHING",
                (self.id, date_from, date_to),
            )
            cursor = db.execute_sql(
                f'UPDATE "{table}" SET number_next = number_next + {param} '
                f"WHERE sequence_id = {param} AND date_from = {param} RETURNING number_next - {param}",
                (step, self.id, date_from, step),
            )
        else:
            table = self._table._meta.table_name
            cursor = db.execute_sql(
                f'UPDATE "{table}" SET number_next = number_next + {param} WHERE id = {param} '
                f"RETURNING number_next - {param}",
                (step, self.id, step),
            )
            self.invalidate_recordset(["number_next"])
        return cursor.fetchone()[0]

    def _format(self, date, number):
        placeholders = {
            "year": f"{date.year:04d}",
            "y": f"{date.year % 100:02d}",
            "month": f"{date.month:02d}",
            "day": f"{date.day:02d}",
        }
        try:
            prefix = (self.prefix or "") % placeholders
            suffix = (self.suffix or "") % placeholders
        except (KeyError, ValueError) as exc:
            raise UserError(
                f"Sequence {self.code}: bad placeholder in prefix or suffix ({exc})"
            ) from None
        return f"{prefix}{number:0{max(self.padding or 0, 0)}d}{suffix}"


class SequenceDateRange(Model):
    _name = "ir.sequence.date_range"
    _description = "Sequence period"
    _order = "date_from"
    _sql_constraints = [
        ("period_uniq", "unique(sequence_id, date_from)", "One counter per sequence and period.")
    ]

    sequence_id = fields.Many2one("ir.sequence", "Sequence", required=True, ondelete="cascade")
    date_from = fields.Date("From", required=True)
    date_to = fields.Date("To", required=True)
    number_next = fields.Integer("Next number", default=1)


class Currency(Model):
    _name = "res.currency"
    _description = "Currency"
    _order = "active desc, name"
    _sql_constraints = [("name_uniq", "unique(name)", "A currency code must be unique.")]

    name = fields.Char("Code", required=True, size=3, help="ISO 4217, e.g. RUB")
    full_name = fields.Char("Name")
    symbol = fields.Char("Symbol", required=True)
    decimal_places = fields.Integer("Decimal places", default=2)
    position = fields.Selection(
        [("after", "After the amount"), ("before", "Before the amount")], default="after"
    )
    active = fields.Boolean("Active", default=True)
    rate_ids = fields.One2many("res.currency.rate", "currency_id", "Rates")

    def round(self, amount):
        from decimal import ROUND_HALF_UP, Decimal

        return Decimal(str(amount)).quantize(
            Decimal(1).scaleb(-(self.decimal_places or 0)), rounding=ROUND_HALF_UP
        )


class CurrencyRate(Model):
    _name = "res.currency.rate"
    _description = "Currency rate"
    _order = "name desc"
    _sql_constraints = [
        ("currency_date_uniq", "unique(currency_id, name)", "One rate per currency and date.")
    ]

    name = fields.Date("Date", required=True)
    currency_id = fields.Many2one(
        "res.currency", "Currency", required=True, ondelete="cascade", index=True
    )
    rate = fields.Float("Rate", required=True, default=1.0)


class Company(Model):
    _name = "res.company"
    _description = "Company"
    _order = "name"

    name = fields.Char("Name", required=True)
    currency_id = fields.Many2one("res.currency", "Currency", ondelete="restrict")
    email = fields.Char("E-mail")
    phone = fields.Char("Phone")
    vat = fields.Char("Tax id (INN)")
    company_registry = fields.Char("Registration number (OGRN)")
    street = fields.Char("Address")
    city = fields.Char("City")
    parent_id = fields.Many2one("res.company", "Parent company")


class Users(Model):
    _name = "res.users"
    _description = "User"
    _order = "name"
    _sql_constraints = [("login_uniq", "unique(login)", "Another user already has this login.")]

    name = fields.Char("Name", required=True)
    login = fields.Char("Login", required=True)
    email = fields.Char("E-mail")
    active = fields.Boolean("Active", default=True)
    lang = fields.Selection(LANGS, "Language", default="en")
    tz = fields.Char("Time zone", default="Europe/Moscow")
    company_id = fields.Many2one("res.company", "Company", ondelete="restrict")
    company_ids = fields.Many2many(
        "res.company",
        "Allowed companies",
        relation="res_company_users_rel",
        column1="user_id",
        column2="cid",
        help="Companies whose records the user may work with (record rules use $company_ids)",
    )


MODELS = (
    Module,
    ModelData,
    ConfigParameter,
    CustomField,
    Attachment,
    Sequence,
    SequenceDateRange,
    Currency,
    CurrencyRate,
    Company,
    Users,
)
