"""The generic web client: home, list, kanban, form and their JSON calls, for every model.

Pages are rendered on the server from the views addons declare (core/orm/views.py); a little
hand-written JavaScript (static/kontora.js) handles inline lines, autocomplete, drag and
drop and saving. Every request runs in one transaction bound to the signed-in user, so
each read and write goes through the ORM's access checks; nothing here uses ``sudo()``
on the user's behalf.
"""

from __future__ import annotations

import datetime
import functools
import json
import logging
from urllib.parse import quote, urlencode

from flask import Blueprint, Response, g, jsonify, redirect, render_template, request, url_for

from core.exceptions import (
    AccessError,
    DomainError,
    MissingError,
    UserError,
)
from core.request.errors import error_fields, error_status
from core.request.identity import current_lang, load_user, login_required
from core.web import data as D
from core.web import reports as web_reports

_logger = logging.getLogger(__name__)
bp = Blueprint("web", __name__)

PAGE_KINDS = ("list", "kanban", "calendar", "graph", "pivot")
MAX_JSON = 4 * 2**20


class PageError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status, self.message = status, message


def _status_for(exc) -> int:
    return error_status(exc)[0]


def page(view=None, *, write=False):
    """A signed-in page in one transaction as the user; errors become pages with status."""
    if view is None:
        return functools.partial(page, write=write)

    @login_required
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        try:
            with g.registry.transaction(g.user["id"], _context(), write=write) as env:
                g.env = env
                return view(env, *args, **kwargs)
        except PageError as exc:
            return _error_page(exc.status, exc.message)
        except UserError as exc:
            return _error_page(_status_for(exc), str(exc))
        finally:
            g.pop("env", None)

    return wrapped


def call(view):
    """A signed-in JSON call in one write transaction; errors are JSON with their status."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if load_user() is None:
            return jsonify(error={"code": "unauthorized", "message": "sign in first"}), 401
        if request.content_length and request.content_length > MAX_JSON:
            return jsonify(error={"code": "too_large", "message": "request too large"}), 413
        try:
            with g.registry.transaction(g.user["id"], _context(), write=True) as env:
                g.env = env
                return view(env, *args, **kwargs)
        except PageError as exc:
            return jsonify(error={"code": "bad_request", "message": exc.message}), exc.status
        except UserError as exc:
            status, code = error_status(exc)
            payload = {"code": code, "message": str(exc)}
            fields = error_fields(exc)
            if fields:
                payload["fields"] = fields
            return jsonify(error=payload), status
        finally:
            g.pop("env", None)

    return wrapped


def _context() -> dict:
    """The user's language and time zone: dates are grouped and shown in local time."""
    context = {"lang": current_lang()}
    if g.user.get("tz"):
        context["tz"] = g.user["tz"]
    return context


def _error_page(status, message):
    return render_template("web/error.html", status=status, message=message), status


def _json_body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise PageError(400, "a JSON object is expected")
    return data


def _model(env, name):
    if name not in g.registry.models or g.registry.models[name]._abstract:
        raise PageError(404, f"no model {name!r}")
    model = env[name]
    model.check_access("read")
    return model


def _action(model_name):
    views = g.registry.views
    action_id = request.args.get("action")
    if action_id:
        action = views.actions.get(action_id)
        if action is None or action.model != model_name:
            raise PageError(404, f"no action {action_id!r} for {model_name}")
        return action
    actions = views.actions_for(model_name)
    return actions[0] if actions else None


def _common(env, model_name=None):
    """What every page's frame needs: menus the user may open, the title."""
    views = g.registry.views
    allowed = set()
    for action in views.actions.values():
        if action.model in allowed:
            continue
        try:
            env[action.model].check_access("read")
            allowed.add(action.model)
        except AccessError:
            continue
    return {"menus": views.menu_tree(allowed, env.user.has_group), "lang": current_lang()}


# -- pages ---------------------------------------------------------------------------------------


@bp.route("/web")
@bp.route("/favicon.ico")
def favicon():
    """Browsers ask for it whatever the page links: the same icon the pages declare."""
    return redirect(url_for("static", filename="kontora.svg"), 301)


@bp.route("/")
@page
def home(env):
    widgets = []
    for widget in g.registry.views.widgets:
        try:
            data = widget.fn(env)
        except AccessError:
            continue
        if data:
            widgets.append({"widget": widget, "data": data})
    return render_template("web/home.html", widgets=widgets, **_common(env))


@bp.route("/web/<model_name>")
@page
def records(env, model_name):
    model = _model(env, model_name)
    action = _action(model_name)
    kinds = list(action.views) if action else ["list", "form"]
    kind = request.args.get("view") or next(k for k in kinds if k != "form")
    if kind not in PAGE_KINDS or g.registry.views.get(model_name, kind) is None:
        raise PageError(404, f"{model_name} has no {kind} view")
    lang = current_lang()
    params = request.args
    default = _default_saved_view(env, model_name, params)
    if default is not None:
        return redirect(f"{request.path}?{default}")
    if action and action.default_filters and "filter" not in params and "q" not in params:
        params = params.copy()
        for name in action.default_filters:
            params.add("filter", name)
    context = {
        "model": model,
        "model_name": model_name,
        "action": action,
        "kinds": [k for k in kinds if k in PAGE_KINDS],
        "kind": kind,
        "search_view": g.registry.views.get(model_name, "search"),
        "params": params,
        "title": action.string if action else model._description or model_name,
        "saved": _saved_views(env, model_name),
        **_common(env),
    }
    try:
        if kind == "list":
            context["data"] = D.list_page(env, g.registry.views, model_name, params, action, lang)
        elif kind == "kanban":
            context["data"] = D.kanban_board(
                env, g.registry.views, model_name, params, action, lang
            )
        else:
            context["data"] = web_reports.page_data(
                env, g.registry.views, model_name, kind, params, action, lang
            )
    except DomainError as exc:
        raise PageError(400, str(exc)) from exc
    context["filter_fields"] = _filter_fields(model, lang)
    context["D"] = D
    return render_template(f"web/{kind}.html", **context)


def _filter_fields(model, lang):
    """Fields offered in custom filters and group-by (stored, visible, not x2many)."""
    out = []
    for name, field in model._fields.items():
        if not field.store or field.type in ("one2many", "binary", "json"):
            continue
        if not model.field_visible(name):
            continue
        out.append({"name": name, "label": D.label(field, lang), "type": field.type})
        if field.type == "many2one":
            target = g.registry.models[field.comodel_name]
            rec = target._rec_name if target._rec_name in target._fields else None
            if rec and target._fields[rec].store:
                sub = D.label(target._fields[rec], lang)
                label = f"{D.label(field, lang)} → {sub}"
                out.append({"name": f"{name}.{rec}", "label": label, "type": "path"})
    return sorted(out, key=lambda f: f["label"].lower())


def _default_saved_view(env, model_name, params):
    """The query of the user's default saved view, when the page is opened without one."""
    if set(params) - {"action", "view"} or "ir.filters" not in g.registry.models:
        return None
    rows = env["ir.filters"].search(
        [("model_id", "=", model_name), ("is_default", "=", True), ("user_id", "=", env.uid)],
        limit=1,
    ) or env["ir.filters"].search(
        [("model_id", "=", model_name), ("is_default", "=", True), ("user_id", "=", None)],
        limit=1,
    )
    query = rows.query if rows else None
    if not query or "saved=" in query:
        return None
    return query + "&saved=1"


def _saved_views(env, model_name):
    if "ir.filters" not in g.registry.models:
        return []
    filters = env["ir.filters"].search(
        [("model_id", "=", model_name), "|", ("user_id", "=", env.uid), ("user_id", "=", None)]
    )
    return filters.read(["name", "query", "is_default", "user_id"])


@bp.route("/web/<model_name>/new")
@bp.route("/web/<model_name>/<int:record_id>")
@page
def form(env, model_name, record_id=None):
    model = _model(env, model_name)
    if record_id is None:
        model.check_access("create")
    elif not model.search([("id", "=", record_id)], limit=1):
        raise PageError(
            404,
            env.translate(
                "%(model)s #%(id)s does not exist",
                model=env.translate(model._description or model_name),
                id=record_id,
            ),
        )
    lang = current_lang()
    action = _action(model_name)
    view_id = (action.view_ids or {}).get("form") if action else None
    data = D.form_page(env, g.registry.views, model_name, record_id, lang, view_id)
    if record_id is None:
        tz = env.context.get("tz")
        for key, value in request.args.items():
            name = key[8:]
            if key.startswith("default_") and name in model._fields and value != "":
                if model._fields[name].type == "many2one":
                    if not value.isdigit():
                        continue
                    target = env[model._fields[name].comodel_name].browse([int(value)])
                    value = (int(value), target.display_names().get(int(value)))
                elif model._fields[name].type == "datetime":
                    try:  # the calendar's slots are local times
                        value = D.to_utc(datetime.datetime.fromisoformat(value), tz)
                    except ValueError:
                        continue
                data["values"][name] = value
                data.setdefault("hidden_defaults", {})[name] = D.editable_value(
                    model._fields[name], value, tz
                )
    history = D.chatter(data["record"], lang) if record_id else []
    attachments = []
    if record_id:
        attachments = (
            env["ir.attachment"]
            .sudo()
            .search([("res_model", "=", model_name), ("res_id", "=", record_id)])
            .read(["name", "mimetype", "file_size", "create_date"])
        )
    neighbours = _neighbours(request.args.get("ids"), record_id)
    return render_template(
        "web/form.html",
        model=model,
        model_name=model_name,
        record_id=record_id,
        data=data,
        history=history,
        attachments=attachments,
        neighbours=neighbours,
        action=action,
        D=D,
        **_common(env),
    )


def smart_where(button):
    """A smart button's extra conditions as list-page ``where`` parameters."""
    return [f"{f}|{op}|{json.dumps(v)}" for f, op, v in (button.domain or [])]


def _neighbours(ids_text, record_id):
    """Previous and next record ids from the list the user came from (``?ids=1,2,3``)."""
    if not ids_text or record_id is None:
        return None
    try:
        ids = [int(x) for x in ids_text.split(",")[:1000]]
    except ValueError:
        return None
    if record_id not in ids:
        return None
    index = ids.index(record_id)
    return {
        "prev": ids[index - 1] if index > 0 else None,
        "next": ids[index + 1] if index + 1 < len(ids) else None,
        "position": index + 1,
        "total": len(ids),
        "ids": ids_text,
    }


# -- JSON calls ------------------------------------------------------------------------------------


@bp.route("/web/<model_name>/save", methods=["POST"])
@bp.route("/web/<model_name>/<int:record_id>/save", methods=["POST"])
@call
def save(env, model_name, record_id=None):
    """Create or write a record from the form's values; a stale ``write_date`` is a 409."""
    model = _model(env, model_name)
    body = _json_body()
    if record_id is None:
        vals = D.parse_form_values(model, body.get("values") or {})
        record = model.create(vals)
        return jsonify(
            id=record.id, url=url_for("web.form", model_name=model_name, record_id=record.id)
        )
    record = model.browse(record_id)
    if not model.search([("id", "=", record_id)], limit=1):
        raise MissingError(_not_visible(env, model_name, record_id))
    seen = body.get("write_date")
    if seen:
        record.check_write_date(seen)
    vals = D.parse_form_values(model, body.get("values") or {}, record)
    if vals:
        record.write(vals)
    return jsonify(id=record.id, write_date=_write_date(record))


def _not_visible(env, model_name, record_id) -> str:
    return env.translate(
        "%(model)s #%(id)s does not exist or is not yours to see",
        model=env.translate(env.registry.models[model_name]._description or model_name),
        id=record_id,
    )


def _write_date(record):
    value = record.read(["write_date"])[0]["write_date"]
    return value.isoformat() if value else None


@bp.route("/web/<model_name>/<int:record_id>/call/<method>", methods=["POST"])
@call
def call_method(env, model_name, record_id, method):
    """Run a status-bar button: a public model method (``action_*`` or ``@api.public``)."""
    model = _model(env, model_name)
    function = getattr(type(model), method, None)
    public = method.startswith("action_") or getattr(function, "_api_public", False)
    if function is None or method.startswith("_") or not public or not callable(function):
        raise PageError(404, f"{model_name} has no action {method!r}")
    if not model.search([("id", "=", record_id)], limit=1):
        raise MissingError(_not_visible(env, model_name, record_id))
    body = request.get_json(silent=True) or {}
    kwargs = body.get("kwargs") if isinstance(body, dict) else None
    result = getattr(model.browse(record_id), method)(**(kwargs or {}))
    redirect_to = result.get("url") if isinstance(result, dict) else None
    return jsonify(ok=True, url=redirect_to)


@bp.route("/web/<model_name>/onchange", methods=["POST"])
@call
def onchange(env, model_name):
    """Computed values for unsaved form values: written in a savepoint that is rolled back."""
    model = _model(env, model_name)
    body = _json_body()
    record_id = body.get("id")
    names = [n for n in body.get("fields") or [] if isinstance(n, str) and n in model._fields]
    result = {}
    try:
        with env.atomic():
            if record_id:
                record = model.browse(int(record_id))
                record.write(D.parse_form_values(model, body.get("values") or {}, record))
            else:
                record = model.create(D.parse_form_values(model, body.get("values") or {}))
            record.invalidate_recordset()
            row = record.read(names)[0] if names else {}
            lang = current_lang()
            result = {n: D.display(model._fields[n], row.get(n), lang) for n in names if n in row}
            raise _Rollback
    except _Rollback:
        pass
    return jsonify(values=result)


class _Rollback(Exception):
    """Undoes the savepoint of an onchange."""


@bp.route("/web/<model_name>/name_search")
@call
def name_search(env, model_name):
    model = _model(env, model_name)
    text = (request.args.get("q") or "")[:200]
    rows = model.name_search(text, limit=8)
    can_create = True
    try:
        model.check_access("create")
    except AccessError:
        can_create = False
    return jsonify(results=[{"id": i, "name": n} for i, n in rows], can_create=can_create)


@bp.route("/web/<model_name>/quick_create", methods=["POST"])
@call
def quick_create(env, model_name):
    """Create a record from a name (many2one "create …" and kanban quick create)."""
    model = _model(env, model_name)
    body = _json_body()
    name = (body.get("name") or "").strip()
    rec_name = model.rec_name_field()
    if not name or not rec_name:
        raise PageError(400, env.translate("A name is needed"))
    vals = {rec_name: name}
    for key, value in (body.get("defaults") or {}).items():
        if key in model._fields:
            vals.update(D.parse_form_values(model, {key: value}))
    record = model.create(vals)
    return jsonify(id=record.id, name=record.display_names()[record.id])


@bp.route("/web/<model_name>/bulk", methods=["POST"])
@call
def bulk(env, model_name):
    """Archive, unarchive, delete or set one field on the selected records."""
    model = _model(env, model_name)
    body = _json_body()
    try:
        ids = [int(i) for i in body.get("ids") or []][:10_000]
    except (TypeError, ValueError) as exc:
        raise PageError(400, "ids must be whole numbers") from exc
    records = model.search([("id", "in", ids)])
    if len(records) != len(set(ids)):
        raise MissingError(
            env.translate("Some of the selected records do not exist or are not yours to see")
        )
    operation = body.get("operation")
    if operation == "archive":
        records.action_archive()
    elif operation == "unarchive":
        records.action_unarchive()
    elif operation == "delete":
        records.unlink()
    elif operation == "set":
        name, value = body.get("field"), body.get("value")
        field = model._fields.get(name) if isinstance(name, str) else None
        if field is not None and field.type == "many2one" and isinstance(value, str):
            value = _many2one_by_name(env, field, value)
        records.write(D.parse_form_values(model, {name: value}))
    else:
        raise PageError(400, f"unknown operation {operation!r}")
    return jsonify(ok=True, count=len(records))


def _many2one_by_name(env, field, text):
    """A many2one value typed as a name (or an id): the one record of that exact name."""
    text = text.strip()
    if not text or text.isdigit():
        return text or None
    matches = [i for i, name in env[field.comodel_name].name_search(text, operator="=", limit=2)]
    if len(matches) != 1:
        raise PageError(
            400,
            f"{D.label(field, current_lang())}: "
            + ("no record named" if not matches else "several records named")
            + f" {text!r}",
        )
    return matches[0]


@bp.route("/web/<model_name>/kanban_more")
@page
def kanban_more(env, model_name):
    _model(env, model_name)
    key = request.args.get("key")
    key = None if key in (None, "", "null") else (int(key) if key.isdigit() else key)
    try:
        offset = int(request.args.get("offset") or 0)
    except ValueError as exc:
        raise PageError(400, "offset must be a whole number") from exc
    action = _action(model_name)
    cards, cols = D.kanban_more(
        env, g.registry.views, model_name, key, offset, request.args, action, current_lang()
    )
    return Response(D.cards_html(cards, cols, model_name, action), mimetype="text/html")


@bp.route("/web/<model_name>/<int:record_id>/note", methods=["POST"])
@call
def post_note(env, model_name, record_id):
    model = _model(env, model_name)
    body = _json_body()
    text = (body.get("body") or "").strip()
    if not text:
        raise PageError(400, env.translate("The note is empty"))
    record = model.search([("id", "=", record_id)], limit=1)
    if not record:
        raise MissingError(_not_visible(env, model_name, record_id))
    record.message_post(text[:20_000])
    return jsonify(ok=True)


@bp.route("/web/<model_name>/filters", methods=["POST"])
@call
def save_filter(env, model_name):
    """Save the current filters, grouping and columns as a named view (mine or shared)."""
    _model(env, model_name)
    body = _json_body()
    name = (body.get("name") or "").strip()
    query = body.get("query") or ""
    if not name or len(name) > 200 or not isinstance(query, str) or len(query) > 4000:
        raise PageError(400, env.translate("A saved view needs a name and the query of the page"))
    filters = env["ir.filters"]
    if body.get("is_default"):
        filters.search(
            [("model_id", "=", model_name), ("user_id", "=", env.uid), ("is_default", "=", True)]
        ).write({"is_default": False})
    record = filters.create(
        {
            "name": name,
            "model_id": model_name,
            "query": query,
            "user_id": None if body.get("shared") else env.uid,
            "is_default": bool(body.get("is_default")),
        }
    )
    return jsonify(id=record.id)


MAX_ATTACHMENT = 25 * 2**20


@bp.route("/web/<model_name>/<int:record_id>/attach", methods=["POST"])
@page(write=True)
def attach(env, model_name, record_id):
    """Attach an uploaded file to a record the user may write."""
    model = _model(env, model_name)
    record = model.search([("id", "=", record_id)], limit=1)
    if not record:
        raise PageError(404, _not_visible(env, model_name, record_id))
    model.check_access("write")
    record.check_access_rule("write")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise PageError(400, env.translate("Choose a file to attach"))
    content = upload.read(MAX_ATTACHMENT + 1)
    if len(content) > MAX_ATTACHMENT:
        raise PageError(413, env.translate("The file is larger than 25 MB"))
    env["ir.attachment"].sudo().create(
        {
            "name": upload.filename[:200],
            "res_model": model_name,
            "res_id": record_id,
            "mimetype": (upload.mimetype or "application/octet-stream")[:100],
            "file_size": len(content),
            "datas": content,
        }
    )
    return redirect(url_for("web.form", model_name=model_name, record_id=record_id))


@bp.route("/web/attachment/<int:attachment_id>")
@page
def attachment(env, attachment_id):
    """Download (or preview) an attachment of a record the user may read."""
    row = env["ir.attachment"].sudo().search([("id", "=", attachment_id)], limit=1)
    if not row or not row.res_model or row.res_model not in g.registry.models:
        raise PageError(404, env.translate("No such attachment"))
    owner = _model(env, row.res_model)
    if not owner.search([("id", "=", row.res_id)], limit=1):
        raise PageError(404, env.translate("No such attachment"))
    inline = request.args.get("inline") and (
        (row.mimetype or "").startswith("image/") or row.mimetype == "application/pdf"
    )
    mimetype = row.mimetype if inline else "application/octet-stream"
    response = Response(bytes(row.datas or b""), mimetype=mimetype)
    disposition = "inline" if inline else "attachment"
    response.headers["Content-Disposition"] = f"{disposition}; filename*=UTF-8''{quote(row.name)}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'"
    return response


def query_with(**changes):
    """This page's query string with some parameters replaced (None removes one)."""
    args = request.args.copy()
    for key, value in changes.items():
        args.pop(key, None)
        if value is None:
            continue
        for item in value if isinstance(value, list) else [value]:
            args.add(key, item)
    return urlencode(list(args.items(multi=True)))


class _Endpoints:
    """``"name" in endpoints`` in templates: whether an optional page exists."""

    def __init__(self, app):
        self.app = app

    def __contains__(self, name):
        return name in self.app.view_functions


def init_app(app):
    """Register the web client on ``app``."""
    app.register_blueprint(bp)
    app.jinja_env.globals.update(
        json_dumps=lambda v: json.dumps(v, ensure_ascii=False, default=str),
        query_with=query_with,
        smart_where=smart_where,
        user_tz=lambda: (g.get("user") or {}).get("tz"),
        endpoints=_Endpoints(app),
    )


@bp.route("/web/<model_name>/pivot.<fmt>")
@page
def pivot_export(env, model_name, fmt):
    """Download the pivot table as CSV or XLSX."""
    _model(env, model_name)
    if fmt not in ("csv", "xlsx") or g.registry.views.get(model_name, "pivot") is None:
        raise PageError(404, env.translate("No such export"))
    return web_reports.export_pivot(env, model_name, fmt, _action(model_name))
