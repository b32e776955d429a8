"""Partners (companies and persons), their tags and bank accounts, and the duplicate check."""

from __future__ import annotations

import re

from core import SUPERUSER_ID, Model, ValidationError, api, fields, tr

from .normalize import (
    inn_problem,
    kpp_valid,
    normalize_email,
    normalize_phone,
    normalize_vat,
)

# How many values go into one IN (...) of the duplicate search.
DUPLICATE_CHUNK = 2000


def _default_salesman(model):
    """The creating user is responsible for a new partner (not the system user)."""
    uid = model.env.uid
    return None if uid == SUPERUSER_ID else uid


class PartnerCategory(Model):
    """Tags in a tree: "Partners / Gold"; a filter on "Partners" matches "Gold" too."""

    _name = "res.partner.category"
    _description = "Partner tag"
    _order = "complete_name"
    _rec_name = "complete_name"

    name = fields.Char("Tag name", required=True, translate=True)
    complete_name = fields.Char("Full name", compute="_compute_complete_name", store=True)
    parent_id = fields.Many2one(
        "res.partner.category", "Parent tag", ondelete="cascade", index=True
    )
    child_ids = fields.One2many("res.partner.category", "parent_id", "Child tags")
    color = fields.Integer("Color", default=0)
    active = fields.Boolean("Active", default=True)

    @api.depends("name", "parent_id.complete_name")
    def _compute_complete_name(self):
        for tag in self:
            parent = tag.parent_id
            tag.complete_name = f"{parent.complete_name} / {tag.name}" if parent else tag.name

    def _compute_display_name(self):
        # The shipped tags' names are English data; the catalog has them in Russian.
        for tag in self:
            parts = (tag.complete_name or tag.name or "").split(" / ")
            tag.display_name = " / ".join(tr(self.env, part) for part in parts)

    @api.constrains("parent_id")
    def _check_no_cycle(self):
        for tag in self:
            seen, current = set(), tag
            while current:
                if current.id in seen:
                    raise ValidationError(
                        tr(self.env, "A tag cannot be its own parent"), "parent_id"
                    )
                seen.add(current.id)
                current = current.parent_id


class PartnerBank(Model):
    """A settlement account of a partner in a Russian bank (BIC, correspondent account)."""

    _name = "res.partner.bank"
    _description = "Bank account"
    _order = "sequence, id"
    _rec_name = "acc_number"
    _sql_constraints = [
        (
            "partner_acc_uniq",
            "unique(partner_id, acc_number)",
            "The partner already has this account number.",
        )
    ]

    partner_id = fields.Many2one(
        "res.partner", "Account holder", required=True, ondelete="cascade", index=True
    )
    acc_number = fields.Char("Account number", required=True, help="20 digits")
    bank_name = fields.Char("Bank")
    bank_bic = fields.Char("BIC", help="9 digits")
    bank_corr_account = fields.Char("Correspondent account", help="20 digits")
    currency_id = fields.Many2one("res.currency", "Currency")
    sequence = fields.Integer("Sequence", default=10)
    active = fields.Boolean("Active", default=True)

    @api.constrains("acc_number", "bank_bic", "bank_corr_account")
    def _check_numbers(self):
        for account in self:
            for name, length in (
                ("acc_number", 20),
                ("bank_bic", 9),
                ("bank_corr_account", 20),
            ):
                value = account[name]
                if value and (not value.isdigit() or len(value) != length):
                    label = self._fields[name].string
                    raise ValidationError(
                        tr(
                            self.env,
                            "%(field)s must be %(n)s digits, not %(value)r",
                            field=tr(self.env, label),
                            n=length,
                            value=value,
                        ),
                        name,
                    )

    def create(self, vals_list):
        return super().create(
            _strip_spaces(vals_list, ("acc_number", "bank_bic", "bank_corr_account"))
        )

    def write(self, vals):
        return super().write(_strip_spaces(vals, ("acc_number", "bank_bic", "bank_corr_account")))


def _strip_spaces(vals_list, names):
    """Account numbers are often typed in groups: keep the digits only."""
    single = isinstance(vals_list, dict)
    result = []
    for vals in [vals_list] if single else vals_list:
        vals = dict(vals)
        for name in names:
            if isinstance(vals.get(name), str):
                vals[name] = re.sub(r"[\s-]+", "", vals[name])
        result.append(vals)
    return result[0] if single else result


class Partner(Model):
    _name = "res.partner"
    _description = "Contact"
    _order = "is_company desc, name, id"

    name = fields.Char("Name", required=True, index="trigram", tracking=True)
    is_company = fields.Boolean(
        "Is a company", default=False, help="A company or an individual entrepreneur"
    )
    parent_id = fields.Many2one(
        "res.partner", "Company", index=True, ondelete="set null", tracking=True
    )
    child_ids = fields.One2many("res.partner", "parent_id", "Contact persons")
    commercial_partner_id = fields.Many2one(
        "res.partner",
        "Commercial entity",
        compute="_compute_commercial_partner",
        help="The company for a contact person, the partner itself otherwise",
    )
    function = fields.Char("Job position")
    title = fields.Char("Title", help="e.g. Mr., Dr.")
    ref = fields.Char("Reference", index=True, help="The partner's code in other systems")
    lang = fields.Selection([("ru", "Русский"), ("en", "English")], "Language", default="ru")
    # Contacts
    phone = fields.Char("Phone", index="trigram", tracking=True)
    mobile = fields.Char("Mobile", tracking=True)
    email = fields.Char("E-mail", index="trigram", tracking=True)
    website = fields.Char("Website")
    phone_sanitized = fields.Char(
        "Phone (digits)", compute="_compute_sanitized", store=True, index=True
    )
    mobile_sanitized = fields.Char(
        "Mobile (digits)", compute="_compute_sanitized", store=True, index=True
    )
    email_normalized = fields.Char(
        "E-mail (normalised)", compute="_compute_sanitized", store=True, index="trigram"
    )
    birthday = fields.Date("Birthday")
    birthday_md = fields.Char(
        "Birthday (MM-DD)",
        compute="_compute_birthday_md",
        store=True,
        index=True,
        help="For finding today's birthdays in one query",
    )
    # Address
    street = fields.Char("Street")
    street2 = fields.Char("Street 2")
    city = fields.Char("City")
    zip = fields.Char("Postcode")
    state_name = fields.Char("Region")
    country_name = fields.Char("Country")
    # Tax ids
    vat = fields.Char("INN", index=True, tracking=True, help="Taxpayer number: 10 or 12 digits")
    kpp = fields.Char("KPP", help="Tax registration reason code: 9 characters")
    company_registry = fields.Char("OGRN", help="Primary state registration number")
    bank_ids = fields.One2many("res.partner.bank", "partner_id", "Bank accounts")
    # Sales
    customer_rank = fields.Integer("Customer rank", default=0, help="Above 0: a customer")
    supplier_rank = fields.Integer("Supplier rank", default=0, help="Above 0: a supplier")
    user_id = fields.Many2one(
        "res.users", "Salesperson", index=True, default=_default_salesman, tracking=True
    )
    company_id = fields.Many2one("res.company", "Company (own)", index=True)
    category_id = fields.Many2many(
        "res.partner.category",
        "Tags",
        relation="res_partner_res_partner_category_rel",
        column1="partner_id",
        column2="category_id",
    )
    comment = fields.Text("Notes")
    color = fields.Integer("Color", default=0)
    active = fields.Boolean("Active", default=True)

    # -- computed fields -----------------------------------------------------------------------
    @api.depends("parent_id", "is_company")
    def _compute_commercial_partner(self):
        for partner in self:
            current, seen = partner, set()
            while current.parent_id and not current.is_company and current.id not in seen:
                seen.add(current.id)
                current = current.parent_id
            partner.commercial_partner_id = current.id

    @api.depends("phone", "mobile", "email")
    def _compute_sanitized(self):
        for partner in self:
            partner.phone_sanitized = normalize_phone(partner.phone)
            partner.mobile_sanitized = normalize_phone(partner.mobile)
            partner.email_normalized = normalize_email(partner.email)

    @api.depends("birthday")
    def _compute_birthday_md(self):
        for partner in self:
            partner.birthday_md = partner.birthday.strftime("%m-%d") if partner.birthday else None

    def _compute_display_name(self):
        """A contact person reads "Company, Person", as in Odoo."""
        for partner in self:
            parent = partner.parent_id
            name = partner.name or ""
            partner.display_name = (
                f"{parent.name}, {name}" if parent and not partner.is_company else name
            )

    # -- checks -------------------------------------------------------------------------------------
    @api.constrains("vat", "kpp")
    def _check_tax_ids(self):
        for partner in self:
            if partner.vat:
                problem = inn_problem(partner.vat)
                # Digits only means a Russian INN; foreign tax ids (DE123...) are kept as typed.
                if problem and partner.vat.isdigit():
                    raise ValidationError(tr(self.env, problem) + f": {partner.vat}", "vat")
            if partner.kpp and not kpp_valid(partner.kpp):
                raise ValidationError(
                    tr(
                        self.env,
                        "A KPP has 9 characters (4 digits, 2 digits or letters, 3 digits), not %(kpp)r",
                        kpp=partner.kpp,
                    ),
                    "kpp",
                )

    @api.constrains("email")
    def _check_email(self):
        for partner in self:
            if partner.email and not partner.email_normalized:
                raise ValidationError(
                    tr(self.env, "%(email)r is not an e-mail address", email=partner.email),
                    "email",
                )

    @api.constrains("parent_id")
    def _check_parent(self):
        for partner in self:
            seen, current = set(), partner
            while current:
                if current.id in seen:
                    raise ValidationError(
                        tr(self.env, "A partner cannot be its own parent company"),
                        "parent_id",
                    )
                seen.add(current.id)
                current = current.parent_id

    # -- create / write ------------------------------------------------------------------------------
    def create(self, vals_list):
        """Create partners; refuse duplicates of existing ones unless ``force_create``.

        Contact persons created without a salesperson take their company's.
        """
        single = isinstance(vals_list, dict)
        vals_list = [_clean_vals(v) for v in ([vals_list] if single else list(vals_list))]
        parent_ids = {_id_of(v.get("parent_id")) for v in vals_list if "user_id" not in v} - {None}
        if parent_ids:
            parents = self.sudo().browse(sorted(parent_ids))
            salesman = {p.id: p.user_id.id for p in parents}
            for vals in vals_list:
                parent = _id_of(vals.get("parent_id"))
                if parent in salesman and "user_id" not in vals:
                    vals["user_id"] = salesman[parent] or None
        if not self.env.context.get("force_create"):
            self._refuse_duplicates(vals_list)
        return super().create(vals_list)

    def write(self, vals):
        vals = _clean_vals(vals)
        result = super().write(vals)
        if "user_id" in vals:
            # A company's contact persons follow its salesperson, as in Odoo.
            children = self.sudo().search(
                [("parent_id", "in", self.filtered(lambda p: p.is_company).ids)]
            )
            if children:
                children.write({"user_id": vals["user_id"]})
        return result

    def _refuse_duplicates(self, vals_list):
        labels = {"vat": "the same INN", "phone": "the same phone", "email": "the same e-mail"}
        repeated = _same_in_batch(_duplicate_keys(vals_list)) if len(vals_list) > 1 else None
        if repeated:
            index, other, reason, value = repeated
            raise ValidationError(
                tr(
                    self.env,
                    "%(name)s (row %(row)s) has %(what)s %(value)s as row %(other)s: "
                    "the same partner twice?",
                    name=vals_list[index].get("name") or "",
                    row=index + 1,
                    what=tr(self.env, labels[reason]),
                    value=value,
                    other=other + 1,
                ),
                reason,
            )
        found = self._match_duplicates(vals_list)
        for index, matches in enumerate(found):
            if not matches:
                continue
            partner_id, reason, value = matches[0]
            existing = self.sudo().with_context(active_test=False).browse(partner_id)
            label = labels[reason]
            row = tr(self.env, " (row %(row)s)", row=index + 1) if len(vals_list) > 1 else ""
            raise ValidationError(
                tr(
                    self.env,
                    "%(name)s%(row)s: a partner with %(what)s %(value)s already exists: "
                    "#%(id)s %(existing)s. Open that card, or create anyway with force_create.",
                    name=vals_list[index].get("name") or "",
                    row=row,
                    what=tr(self.env, label),
                    value=value,
                    id=partner_id,
                    existing=existing.display_name,
                ),
                reason,
            )

    # -- duplicates ------------------------------------------------------------------------------
    @api.model
    def find_duplicates(self, vals_list):
        """Existing partners that look like each of ``vals_list``: same INN (a branch with
        another KPP is not a duplicate), same normalised phone or mobile, same e-mail.

        Returns a list of recordsets, one per dict, in this environment (the search itself
        sees every active partner, so that a salesman learns about a colleague's client).
        A dict with an ``id`` is checked against the other partners (an edited card); a
        contact person is not a duplicate of its own company or the company's other persons.
        """
        matches = self._match_duplicates(vals_list)
        return [self.browse(list(dict.fromkeys(m[0] for m in found))) for found in matches]

    def _match_duplicates(self, vals_list) -> list[list[tuple[int, str, str]]]:
        """Per dict, ``[(partner id, "vat"|"phone"|"email", value)]``, in a few queries."""
        keys = _duplicate_keys(vals_list)
        vats = sorted({k["vat"] for k in keys if k["vat"]})
        phones = sorted({p for k in keys for p in k["phones"]})
        emails = sorted({k["email"] for k in keys if k["email"]})
        rows = self._duplicate_candidates(
            [
                ("vat", vats),
                ("phone_sanitized", phones),
                ("mobile_sanitized", phones),
                ("email_normalized", emails),
            ]
        )
        by_vat, by_phone, by_email = {}, {}, {}
        for row in rows.values():
            if row["vat"]:
                by_vat.setdefault(row["vat"], []).append(row)
            for phone in {row["phone_sanitized"], row["mobile_sanitized"]} - {None}:
                by_phone.setdefault(phone, []).append(row)
            if row["email_normalized"]:
                by_email.setdefault(row["email_normalized"], []).append(row)
        result = []
        for key in keys:
            found = []

            def related(row, key=key):
                parent = row["parent_id"]
                return row["id"] == key["self"] or (
                    key["parent"] and key["parent"] in (row["id"], parent)
                )

            for row in by_vat.get(key["vat"], ()):
                # Branches share the INN and differ by KPP.
                if key["kpp"] and row["kpp"] and key["kpp"] != row["kpp"]:
                    continue
                if not related(row):
                    found.append((row["id"], "vat", key["vat"]))
            for phone in sorted(key["phones"]):
                found += [
                    (r["id"], "phone", phone) for r in by_phone.get(phone, ()) if not related(r)
                ]
            found += [
                (r["id"], "email", key["email"])
                for r in by_email.get(key["email"], ())
                if not related(r)
            ]
            result.append(sorted(found, key=lambda m: m[0]))
        return result

    def _duplicate_candidates(self, lookups) -> dict[int, dict]:
        """Active partners whose column matches one of the values, ``{id: row}``.

        Plain SQL with bound parameters: every partner counts, whoever may read it, and
        building the statement through the query builder costs more than running it when
        an import checks tens of thousands of values."""
        self.env.recompute()  # the normalised columns of partners changed in this transaction
        db = self.env.db
        table = self._table._meta.table_name
        columns = [
            "id",
            "vat",
            "kpp",
            "phone_sanitized",
            "mobile_sanitized",
            "email_normalized",
            "parent_id",
        ]
        select = ", ".join(f'"{c}"' for c in columns)
        rows = {}
        for column, values in lookups:
            for start in range(0, len(values), DUPLICATE_CHUNK):
                chunk = values[start : start + DUPLICATE_CHUNK]
                marks = ", ".join([db.param] * len(chunk))
                cursor = db.execute_sql(
                    f'SELECT {select} FROM "{table}" WHERE "active" = {db.param} '
                    f'AND "{column}" IN ({marks})',
                    [True, *chunk],
                )
                for values_row in cursor.fetchall():
                    rows[values_row[0]] = dict(zip(columns, values_row, strict=True))
        return rows

    # -- search -------------------------------------------------------------------------------------
    def name_search(self, name="", domain=None, operator="ilike", limit=8) -> list:
        """Find partners by name, e-mail, INN or phone (any way of writing it)."""
        if not name or operator != "ilike":
            return super().name_search(name, domain, operator, limit)
        terms = [("name", "ilike", name), ("email_normalized", "ilike", name.strip().lower())]
        digits = re.sub(r"\D", "", name)
        if len(digits) >= 3 and len(digits) >= len(name.strip()) // 2:
            terms.append(("vat", "like", digits + "%"))
            phone = normalize_phone(name) or digits
            terms += [
                ("phone_sanitized", "like", f"%{phone}%"),
                ("mobile_sanitized", "like", f"%{phone}%"),
            ]
        search = ["|"] * (len(terms) - 1) + terms
        records = self.search(list(domain or []) + search, limit=limit)
        names = records.display_names()
        return [(id_, names[id_]) for id_ in records.ids]


def _duplicate_keys(vals_list) -> list[dict]:
    """What identifies each dict: normalised INN, KPP, phones, e-mail, its id and parent."""
    keys = []
    for vals in vals_list:
        keys.append(
            {
                "vat": normalize_vat(vals.get("vat")),
                "kpp": _text(vals.get("kpp")).upper() or None,
                "phones": {
                    p
                    for p in (
                        normalize_phone(vals.get("phone")),
                        normalize_phone(vals.get("mobile")),
                    )
                    if p
                },
                "email": normalize_email(vals.get("email")),
                "self": _id_of(vals.get("id")),
                "parent": _id_of(vals.get("parent_id")),
            }
        )
    return keys


def _same_in_batch(keys) -> tuple | None:
    """``(row, earlier row, "vat"|"phone"|"email", value)`` for the first dict that repeats an
    earlier one of the same batch (persons of one company excepted), else None."""
    seen: dict = {}
    for index, key in enumerate(keys):
        probes = [("vat", key["vat"])] if key["vat"] else []
        probes += [("phone", p) for p in sorted(key["phones"])]
        probes += [("email", key["email"])] if key["email"] else []
        for reason, value in probes:
            for other in seen.get((reason, value), ()):
                earlier = keys[other]
                if key["parent"] and key["parent"] == earlier["parent"]:
                    continue
                if (
                    reason == "vat"
                    and key["kpp"]
                    and earlier["kpp"]
                    and key["kpp"] != earlier["kpp"]
                ):
                    continue
                return index, other, reason, value
        for reason, value in probes:
            seen.setdefault((reason, value), []).append(index)
    return None


def _text(value) -> str:
    return re.sub(r"\s+", "", value) if isinstance(value, str) else ""


def _id_of(value):
    """An id from an id, a ``(id, name)`` pair as read() gives, or a record."""
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    value = getattr(value, "id", value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _clean_vals(vals):
    """Tax ids without spaces, e-mails trimmed: what people paste from documents."""
    vals = dict(vals)
    if isinstance(vals.get("vat"), str):
        vals["vat"] = normalize_vat(vals["vat"])
    if isinstance(vals.get("kpp"), str):
        vals["kpp"] = re.sub(r"\s+", "", vals["kpp"]).upper() or None
    if isinstance(vals.get("email"), str):
        vals["email"] = vals["email"].strip() or None
    return vals


MODELS = [PartnerCategory, PartnerBank, Partner]
