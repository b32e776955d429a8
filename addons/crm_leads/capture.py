"""Leads from outside: ``create_leads()`` for code (mail, telephony) and the website forms.

``POST /crm/webform/<key>`` takes a site's existing form as it is (form-encoded, multipart
or JSON): the form's configuration (``crm.webform``) maps the site's field names to lead
fields, names the required ones and a honeypot, and says where to send the visitor. The
poster is anonymous, so the route is exempt from CSRF and does one thing only: create a
lead through ``create_leads`` as the system. Nothing in the request chooses the model, the
fields beyond the mapping (which may only target contact fields), the salesman or the
team. Junk gets a 400 naming the problem, a body over the form's limit 413, more posts from
one address than the form's rate limit 429; in every such case nothing is created.
"""

from __future__ import annotations

import json
import logging
import re
import time
from urllib.parse import parse_qsl, urlsplit

from flask import Blueprint, Response, g, redirect, request

from core import UserError, csrf_exempt, tr

from .models.webform import WEBFORM_TARGETS

_logger = logging.getLogger(__name__)
UTM_PARAMS = ("utm_source", "utm_medium", "utm_campaign")
MAX_FIELD_CHARS = 5000  # one form field; a longer value is junk, not a lead
MAX_FIELDS = 100
# UTM tags become source, medium and campaign records (found by name, created when new);
# only short tokens do, so that anonymous posts cannot fill the lists with junk.
UTM_TOKEN = re.compile(r"[\w.+-]{1,64}")


def create_leads(env, vals_list, source=None, medium=None, campaign=None, team=None):
    """Create leads that arrived from outside (a web form, an e-mail, a phone call).

    They are created as the system (the sender is not a user) and assigned on arrival by
    the team's mode: ``team``, else the team of the source. Returns the new leads (sudo).

    :param env: any environment of the current transaction.
    :param vals_list: a dict or a list of dicts of ``crm.lead`` values (``name`` is filled
        from the contact or company name when missing).
    :param source: ``utm.source`` of every lead: a record, an id or a name (created when
        no source has that name). ``medium`` and ``campaign`` likewise (``utm.medium``,
        ``utm.campaign``); values in the dicts win.
    :param team: a ``crm.team`` record or id.

    Example, from the telephony addon::

        create_leads(env, {"phone": "+7 916 123-45-67", "name": "Missed call"}, source="Phone")
    """
    if isinstance(vals_list, dict):
        vals_list = [vals_list]
    system = env.sudo()
    defaults = {
        "source_id": _utm(system, "utm.source", source),
        "medium_id": _utm(system, "utm.medium", medium),
        "campaign_id": _utm(system, "utm.campaign", campaign),
        "team_id": _record_id(team),
    }
    prepared = []
    for vals in vals_list:
        vals = dict(vals)
        for name, value in defaults.items():
            if value and not vals.get(name):
                vals[name] = value
        vals.setdefault("type", "lead")
        vals.setdefault("user_id", None)  # assigned by the team's mode, not to the system
        if not vals.get("name"):
            vals["name"] = (
                vals.get("partner_name")
                or vals.get("contact_name")
                or vals.get("email_from")
                or vals.get("phone")
                or "Lead"
            )
        prepared.append(vals)
    return system["crm.lead"].create(prepared)


def _record_id(value):
    if value is None or value is False:
        return None
    return value.id if hasattr(value, "_ids") else int(value)


def _utm(env, model, value):
    """The id of a UTM record given as a record, an id or a name (created if new)."""
    if value is None or value is False or value == "":
        return None
    if hasattr(value, "_ids") or isinstance(value, int):
        return _record_id(value)
    name = str(value).strip()[:200]
    if not name:
        return None
    found = env[model].with_context(active_test=False).search([("name", "=", name)], limit=1)
    return found.id if found else env[model].create({"name": name}).id


# -- the website form ---------------------------------------------------------------------------------

bp = Blueprint("crm_webform", __name__)


class Refused(Exception):
    """A post refused: the status, the reason in the poster's language, the fields at fault."""

    def __init__(self, status, message, fields=None, **values):
        message = tr(_poster_lang(), message, **values)
        super().__init__(message)
        self.status, self.message, self.fields = status, message, fields or []


def _poster_lang():
    return request.accept_languages.best_match(["en", "ru"]) or "en"


@bp.route("/crm/webform/<key>", methods=["POST"])
@csrf_exempt  # posted by anonymous visitors of other sites: no session, no token
def webform_post(key):
    """A website form posted a lead."""
    registry = g.registry
    wants_json = _wants_json()
    try:
        if len(key) > 100:
            raise Refused(404, "No such form")
        with registry.transaction(su=True, write=False) as env:
            form = env["crm.webform"].search([("key", "=", key)], limit=1)
            if not form:
                raise Refused(404, "No such form")
            config = form.read(
                [
                    "field_map",
                    "required_fields",
                    "honeypot_field",
                    "thanks_url",
                    "source_id",
                    "team_id",
                    "lead_name",
                    "rate_limit",
                    "max_body_bytes",
                ]
            )[0]
        # The counter is its own transaction: refused posts count as well.
        with registry.transaction(su=True) as env:
            hits = _count_post(env, config["id"], request.remote_addr or "?")
        if hits > config["rate_limit"]:
            raise Refused(429, "Too many posts from your address; try again in a minute")
        data = _read_body(config["max_body_bytes"])
        vals = _lead_values(config, data)
        with registry.transaction(su=True) as env:
            form_source = config["source_id"][0] if config["source_id"] else None
            lead = create_leads(
                env,
                vals,
                source=_utm_token(data.get("utm_source")) or form_source,
                medium=_utm_token(data.get("utm_medium")),
                campaign=_utm_token(data.get("utm_campaign")),
                team=config["team_id"][0] if config["team_id"] else None,
            )
            lead_id = lead.id
    except Refused as exc:
        return _refusal(exc, wants_json)
    except UserError as exc:  # a value the lead refuses: the poster's fault, not the server's
        return _refusal(Refused(400, str(exc), [getattr(exc, "field", None) or "form"]), wants_json)
    _logger.info("web form %s created lead %s", config["id"], lead_id)
    thanks = _safe_url(config["thanks_url"])
    if thanks and not wants_json:
        return redirect(thanks, code=303)
    return _json({"result": "created", "id": lead_id}, 201)


def _wants_json() -> bool:
    accept = request.accept_mimetypes
    return request.is_json or (accept.best == "application/json")


def _count_post(env, form_id, ip) -> float:
    """Posts from ``ip`` to the form in the last sixty seconds, this one included.

    Counters per minute; the rate is this minute's count plus the previous minute's,
    weighted by how much of it is still within the last sixty seconds (a sliding window,
    so a burst across the turn of a minute is not let through twice).
    """
    db = env.db
    p = db.param
    now = time.time()
    minute = int(now // 60)
    cursor = db.execute_sql(
        f"INSERT INTO crm_webform_rate (webform_id, ip, minute, hits) VALUES ({p}, {p}, {p}, 1) "
        f"ON CONFLICT (webform_id, ip, minute) DO UPDATE SET hits = crm_webform_rate.hits + 1 "
        f"RETURNING hits",
        (form_id, ip[:64], minute),
    )
    hits = cursor.fetchone()[0]
    previous = db.execute_sql(
        f"SELECT hits FROM crm_webform_rate WHERE webform_id = {p} AND ip = {p} AND minute = {p}",
        (form_id, ip[:64], minute - 1),
    ).fetchone()
    if hits == 1:
        # A new minute for this address: drop counters of minutes long gone.
        db.execute_sql(
            f"DELETE FROM crm_webform_rate WHERE webform_id = {p} AND minute < {p}",
            (form_id, minute - 10),
        )
    weight = 1 - (now - minute * 60) / 60
    return hits + (previous[0] if previous else 0) * weight


def _read_body(limit) -> dict:
    """The posted fields as ``{name: text}``; refuses bodies over ``limit`` bytes (413)."""
    if request.content_length is not None and request.content_length > limit:
        raise Refused(413, "The form is too large: at most %(limit)s bytes", limit=limit)
    raw = request.stream.read(limit + 1)
    if len(raw) > limit:
        raise Refused(413, "The form is too large: at most %(limit)s bytes", limit=limit)
    mimetype = request.mimetype
    if mimetype == "application/json":
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise Refused(400, "The body is not valid JSON") from None
        if not isinstance(data, dict):
            raise Refused(400, "Send the form's fields as a JSON object")
    elif mimetype in ("application/x-www-form-urlencoded", ""):
        try:
            text = raw.decode("utf-8")
            data = dict(parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS))
        except (UnicodeDecodeError, ValueError):
            raise Refused(400, "The form data cannot be read (UTF-8, at most 100 fields)") from None
    elif mimetype == "multipart/form-data":
        data = _multipart(raw)
    else:
        raise Refused(400, "Unsupported content type %(type)r: send a form or JSON", type=mimetype)
    if len(data) > MAX_FIELDS:
        raise Refused(400, "Too many fields: at most %(count)s", count=MAX_FIELDS)
    result = {}
    for name, value in data.items():
        if value is None or isinstance(value, bool | int | float):
            value = "" if value is None else str(value)
        if not isinstance(value, str):
            raise Refused(400, "Field %(name)r: expected text", [name], name=name)
        if len(value) > MAX_FIELD_CHARS or "\x00" in value:
            raise Refused(400, "Field %(name)r: not acceptable text", [name], name=name)
        result[str(name)[:200]] = value.strip()
    return result


def _multipart(raw: bytes) -> dict:
    from io import BytesIO

    from werkzeug.formparser import parse_form_data

    environ = {
        "wsgi.input": BytesIO(raw),
        "CONTENT_LENGTH": str(len(raw)),
        "CONTENT_TYPE": request.headers.get("Content-Type", ""),
        "REQUEST_METHOD": "POST",
    }
    try:
        _stream, form, _files = parse_form_data(environ, max_form_parts=MAX_FIELDS)
    except Exception:  # noqa: BLE001 - any parser complaint means the body is junk
        raise Refused(400, "The form data cannot be read") from None
    return dict(form.items())


def _lead_values(config, data) -> dict:
    """The lead's values from the posted fields by the form's mapping; junk is refused."""
    honeypot = config["honeypot_field"]
    if honeypot and data.get(honeypot):
        raise Refused(400, "The form was not filled in by a person", [honeypot])
    required = list(config["required_fields"] or [])
    missing = [name for name in required if not data.get(name)]
    if missing:
        raise Refused(
            400, "Required fields are missing: %(names)s", missing, names=", ".join(missing)
        )
    mapping = config["field_map"] or {}
    vals = {}
    for site_name, target in mapping.items():
        if target in WEBFORM_TARGETS and data.get(site_name):
            vals[target] = data[site_name]
    if not any(vals.get(k) for k in ("contact_name", "partner_name", "email_from", "phone")):
        raise Refused(400, "The form has no name, company, e-mail or phone of the sender")
    email = vals.get("email_from")
    if email and ("@" not in email or " " in email):
        raise Refused(400, "%(email)r is not an e-mail address", ["email_from"], email=email)
    if not vals.get("name") and config["lead_name"]:
        who = vals.get("partner_name") or vals.get("contact_name") or email or vals.get("phone")
        vals["name"] = f"{config['lead_name']}: {who}"
    referrer = data.get("referrer") or request.headers.get("Referer")
    if referrer:
        vals["referred"] = referrer[:500]
    for name in UTM_PARAMS:
        # Values that do not look like UTM tags are kept in the notes, not made into records.
        if data.get(name) and not _utm_token(data[name]):
            vals["description"] = _append(vals.get("description"), f"{name}: {data[name][:200]}")
    return vals


def _append(text, line):
    return f"{text}\n{line}" if text else line


def _utm_token(value):
    """A UTM tag as sites send them (``yandex``, ``cpc``, ``spring-sale_2026``), or None."""
    if value and UTM_TOKEN.fullmatch(value):
        return value
    return None


def _safe_url(url):
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") or (not parts.scheme and url.startswith("/")):
        return url
    return None


def _refusal(exc: Refused, wants_json: bool) -> Response:
    payload = {"error": {"code": exc.status, "message": exc.message, "fields": exc.fields}}
    response = _json(payload, exc.status)
    if exc.status == 429:
        response.headers["Retry-After"] = "60"
    return response


def _json(payload, status) -> Response:
    return Response(
        json.dumps(payload, ensure_ascii=False), status=status, mimetype="application/json"
    )
