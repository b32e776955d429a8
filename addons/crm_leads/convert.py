"""Converting leads: each lead becomes a company, a contact person and an opportunity.

Decision: the opportunity is a *new* ``crm.lead`` record of type ``opportunity`` (Odoo
switches the lead itself). The lead stays what it was, a record of a first contact with
status "Converted" and links to the company, the contact and the opportunity it became;
the opportunity points back with ``origin_lead_id`` and carries the lead's source, UTM
tags, salesman, team and amount. So lead statistics (how many leads a source brought, how
many of them became deals) stay true after conversion, as SalesPlatform's "Обращения" do.

Partners are not duplicated: the contacts addon's duplicate check (same e-mail or phone,
INN) finds existing persons, whose company is then used too; companies are also matched by
exact name. The caller may choose partners per lead. Everything is done in batches: a few
queries for the duplicate check, one insert each for companies, contacts and deals, one
write for the leads' status and one ``executemany`` for their links.
"""

from __future__ import annotations

import re

from core import UserError, ValidationError, tr, utcnow

# What an opportunity takes over from its lead.
CARRIED = (
    "name",
    "contact_name",
    "partner_name",
    "function",
    "email_from",
    "phone",
    "website",
    "city",
    "referred",
    "priority",
    "description",
    "expected_revenue",
    "date_deadline",
)
CARRIED_M2O = ("source_id", "medium_id", "campaign_id", "team_id")


def convert_leads(leads, choices=None, user_id=None):
    """Convert ``leads`` (type lead, not converted yet); returns the new opportunities.

    :param choices: ``{lead id: (contact partner id or None, company partner id or None)}``
        partners the user chose instead of what the duplicate check would find or create.
    :param user_id: the salesman of the new deals (default: the lead's, else the converter).
    """
    env = leads.env
    if not leads:
        return leads.browse()
    choices = choices or {}
    leads.check_access("write")
    leads.check_access_rule("write")
    rows = leads.with_context(active_test=False).read(
        [*CARRIED, *CARRIED_M2O, "type", "status", "user_id", "tag_ids", "active"]
    )
    for row in rows:
        if row["type"] != "lead" or row["status"] == "converted":
            raise UserError(
                tr(
                    env,
                    "%(name)s: only leads that are not converted yet can be converted",
                    name=row["name"],
                )
            )
        if not row["active"]:
            raise UserError(
                tr(
                    env,
                    "%(name)s: the lead is lost; restore it before converting",
                    name=row["name"],
                )
            )
    with env.atomic():  # all the leads, or none of them
        return _convert(env, leads, rows, choices, user_id)


def _convert(env, leads, rows, choices, user_id):
    """Partners found or made, the deals created, the leads marked and linked."""
    Partner = env["res.partner"]
    _check_choices(env, choices)
    contacts, companies = _find_partners(Partner, rows, choices)
    _create_missing_companies(Partner, rows, companies, user_id)
    _create_missing_contacts(Partner, rows, contacts, companies, user_id)

    opportunities = []
    for row in rows:
        vals = {name: row[name] for name in CARRIED}
        vals.update({name: row[name][0] if row[name] else None for name in CARRIED_M2O})
        vals.update(
            type="opportunity",
            user_id=_salesman(row, user_id, env),
            partner_id=contacts.get(row["id"]) or companies.get(row["id"]),
            origin_lead_id=row["id"],
            tag_ids=[(6, 0, row["tag_ids"])],
        )
        opportunities.append(vals)
    deals = env["crm.lead"].create(opportunities)

    leads.write({"status": "converted", "date_conversion": utcnow()})
    _link_leads(env, rows, deals, contacts, companies)
    _post_notes(env, rows, deals)
    return deals


def _post_notes(env, rows, deals):
    """ "Converted into deal X" on each lead and "From lead Y" on each deal, in one insert."""
    now, uid = utcnow(), env.uid
    to_deal = tr(env, "Converted into the deal #%(id)s")
    from_lead = tr(env, "Created from the lead #%(id)s")
    entries = []
    for row, deal_id in zip(rows, deals.ids, strict=True):
        for model_id, other, text in (
            (row["id"], deal_id, to_deal),
            (deal_id, row["id"], from_lead),
        ):
            entries.append(
                {
                    "model": "crm.lead",
                    "res_id": model_id,
                    "record_name": row["name"],
                    "message_type": "notification",
                    "event": "note",
                    "body": text % {"id": other},
                    "author_id": uid,
                    "date": now,
                }
            )
    env["mail.message"].sudo().create(entries)


def _check_choices(env, choices):
    wanted = {p for pair in choices.values() for p in pair if p}
    if not wanted:
        return
    found = set(env["res.partner"].search([("id", "in", sorted(wanted))]).ids)
    missing = sorted(wanted - found)
    if missing:
        raise ValidationError(
            tr(env, "No partner with id %(id)s (or not yours to use)", id=missing[0]),
            "partner_id",
        )


def _find_partners(Partner, rows, choices):
    """``({lead id: contact id}, {lead id: company id})`` of partners that exist already."""
    contacts, companies = {}, {}
    probes, probe_leads = [], []
    for row in rows:
        contact, company = choices.get(row["id"], (None, None))
        if contact:
            contacts[row["id"]] = int(contact)
        if company:
            companies[row["id"]] = int(company)
        if not contact and (row["email_from"] or row["phone"]):
            probes.append(
                {
                    "name": row["contact_name"] or "",
                    "email": row["email_from"],
                    "phone": row["phone"],
                }
            )
            probe_leads.append(row["id"])
    if probes:
        for lead_id, found in zip(probe_leads, Partner.find_duplicates(probes), strict=True):
            persons = found.sudo().filtered(lambda p: not p.is_company)
            if persons:
                contacts[lead_id] = persons[0].id
            elif found and lead_id not in companies:
                companies[lead_id] = found.sudo()[0].id
    # A known contact brings its company along.
    known = {c for lead, c in contacts.items() if lead not in companies}
    if known:
        parents = {
            r["id"]: r["parent_id"][0]
            for r in Partner.sudo().browse(sorted(known)).read(["parent_id"])
            if r["parent_id"]
        }
        for lead_id, contact in contacts.items():
            if lead_id not in companies and contact in parents:
                companies[lead_id] = parents[contact]
    # Companies by their exact name, one query for the batch.
    names = {
        row["partner_name"].strip()
        for row in rows
        if row["id"] not in companies and row["partner_name"]
    }
    if names:
        existing = Partner.sudo().search([("is_company", "=", True), ("name", "in", sorted(names))])
        by_name = {}
        for r in existing.read(["name"]):
            by_name.setdefault(r["name"], r["id"])
        for row in rows:
            name = (row["partner_name"] or "").strip()
            if row["id"] not in companies and name in by_name:
                companies[row["id"]] = by_name[name]
    return contacts, companies


def _salesman(row, user_id, env):
    if user_id:
        return user_id
    if row["user_id"]:
        return row["user_id"][0]
    return None if env.is_superuser() else env.uid


def _create_missing_companies(Partner, rows, companies, user_id):
    new, order = {}, []
    for row in rows:
        name = (row["partner_name"] or "").strip()
        if row["id"] in companies or not name:
            continue
        if name not in new:
            new[name] = {
                "name": name,
                "is_company": True,
                "website": row["website"],
                "city": row["city"],
                "customer_rank": 1,
                "user_id": _salesman(row, user_id, Partner.env),
            }
            order.append(name)
    if not new:
        return
    created = Partner.with_context(force_create=True).create([new[n] for n in order])
    ids = dict(zip(order, created.ids, strict=True))
    for row in rows:
        name = (row["partner_name"] or "").strip()
        if row["id"] not in companies and name in ids:
            companies[row["id"]] = ids[name]


def _person_key(row):
    email = (row["email_from"] or "").strip().lower()
    phone = re.sub(r"\D", "", row["phone"] or "")
    return email or phone or None


def _create_missing_contacts(Partner, rows, contacts, companies, user_id):
    new, order = {}, []
    keys = {}
    for row in rows:
        if row["id"] in contacts or not (row["contact_name"] or row["email_from"] or row["phone"]):
            continue
        # A lead from a company with no person's name: the company is the customer.
        if not row["contact_name"] and row["id"] in companies:
            continue
        key = _person_key(row) or f"lead:{row['id']}"
        keys[row["id"]] = key
        if key not in new:
            new[key] = {
                "name": row["contact_name"] or row["email_from"] or row["phone"],
                "email": _clean_email(row["email_from"]),
                "phone": row["phone"],
                "function": row["function"],
                "parent_id": companies.get(row["id"]),
                "customer_rank": 1,
                "user_id": _salesman(row, user_id, Partner.env),
            }
            order.append(key)
    if not new:
        return
    created = Partner.with_context(force_create=True).create([new[k] for k in order])
    ids = dict(zip(order, created.ids, strict=True))
    for lead_id, key in keys.items():
        contacts[lead_id] = ids[key]


def _clean_email(email):
    email = (email or "").strip()
    return email if "@" in email and " " not in email else None


def _link_leads(env, rows, deals, contacts, companies):
    """Each lead's links to what it became: one statement with a row of values per lead."""
    db = env.db
    p = db.param
    params = [
        (
            companies.get(row["id"]),
            contacts.get(row["id"]),
            deal_id,
            row["id"],
        )
        for row, deal_id in zip(rows, deals.ids, strict=True)
    ]
    cursor = db.cursor()
    cursor.executemany(
        f"UPDATE crm_lead SET converted_partner_id = {p}, converted_contact_id = {p}, "
        f"converted_opportunity_id = {p} WHERE id = {p}",
        params,
    )
    # Written behind the ORM's back: forget the cached values of these fields.
    Lead = env["crm.lead"]
    for name in ("converted_partner_id", "converted_contact_id", "converted_opportunity_id"):
        env.state.cache.pop(Lead._fields[name], None)
