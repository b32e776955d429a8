"""The REST API: ``/api/v1/<model>`` for every installed model (see docs/api.md).

Each request authenticates (a per-user API key as ``Authorization: Bearer``, or the web
session's cookie plus ``X-CSRF-Token`` for state-changing methods), then runs in one
transaction bound to that user: ``GET`` read-only, the others writing. Nothing here uses
``sudo()`` on the user's behalf: every read and write goes through the ORM's access checks,
and the superuser is never reachable from a request. Errors are JSON
``{"error": {"code", "message", "fields"?}}`` with the status of their kind; anything
unexpected is logged and answered as a JSON 500 without details.
"""

from __future__ import annotations

import csv
import datetime
import functools
import inspect
import io
import json
import logging
import math
import re
from decimal import Decimal

import marshmallow as ma
import orjson
from flask import Blueprint, Response, current_app, g, request
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, PathConverter, Rule

from core import timezones
from core.io.export import export_rows
from core.orm.env import Environment, TransactionState
from core.orm.registry import parse_version
from core.reporting import reports
from core.request.errors import error_fields, error_status
from core.rest import schemas as S
from core.rest.auth import SAFE_METHODS, ApiError, authenticate, bearer_token, key_user, touch_key
from core.rest.openapi import openapi_document
from core.rest.search import PageCache, read_page

_logger = logging.getLogger(__name__)

bp = Blueprint("api_v1", __name__, url_prefix="/api/v1")

MAX_BODY = 16 * 2**20
MAX_CREATE = 1000
MAX_NESTING = 100
_CATCH_ALL = ("api_v1.unknown_route", "api_v1.api_root")


# -- responses -------------------------------------------------------------------------------------------
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


def _dumps(payload) -> bytes:
    # orjson is several times faster than json on the 80-record pages the API serves;
    # dates still go through jsonable so both paths give the same text.
    try:
        return orjson.dumps(payload, default=_fallback, option=_ORJSON_OPTIONS)
    except (orjson.JSONEncodeError, TypeError):  # e.g. integers beyond 64 bits
        return json.dumps(payload, ensure_ascii=False, default=_fallback).encode()


def _fallback(value):
    return jsonable(value)


def jsonable(value):
    """A JSON-safe copy of what a model method or read_group returned."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return f"{value:f}" if value.is_finite() else None
    if isinstance(value, datetime.datetime):
        return S.UTCDateTime()._serialize(value, None, None)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return S.Base64Bytes()._serialize(bytes(value), None, None)
    if hasattr(value, "_ids") and hasattr(value, "_name"):
        return {"model": value._name, "ids": list(value.ids)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return str(value)


def _json_response(payload, status=200, headers=None) -> Response:
    body = payload if isinstance(payload, bytes) else _dumps(payload)
    response = Response(body, status=status, mimetype="application/json")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _error_response(status, code, message, fields=None, headers=None) -> Response:
    error = {"code": code, "message": message}
    if fields:
        error["fields"] = jsonable(fields)
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="kontora"'
    return _json_response({"error": error}, status, headers)


def _error_for(exc) -> Response:
    """The JSON response of an exception raised while serving a request."""
    if isinstance(exc, ApiError):
        return _error_response(exc.status, exc.code, exc.message, exc.fields, exc.headers)
    if isinstance(exc, ma.ValidationError):
        return _error_response(
            422, "validation_error", "Some values are not valid", _field_messages(exc.messages)
        )
    known = error_status(exc)
    if known is not None:
        return _error_response(*known, str(exc), error_fields(exc))
    _logger.exception("REST API: %s %s failed", request.method, request.path)
    return _error_response(500, "internal_error", "An unexpected error happened; it was logged")


def _field_messages(messages):
    if isinstance(messages, dict):
        return messages
    return {"_schema": messages}


# -- input -------------------------------------------------------------------------------------------------
def _reject_constant(name):
    raise ValueError(f"{name} is not JSON")


def _check_text(value, where):
    """Refuse text the databases cannot store (NUL characters, lone surrogates) and JSON
    nested deeper than any field needs (it could not be stored back either)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_NESTING:
            raise ApiError(400, "bad_request", f"{where}: nested deeper than {MAX_NESTING} levels")
        if isinstance(item, str):
            if "\x00" in item:
                raise ApiError(400, "bad_request", f"{where}: text may not contain NUL characters")
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise ApiError(400, "bad_request", f"{where}: text is not valid Unicode") from None
        elif isinstance(item, dict):
            stack.extend((key, depth + 1) for key in item)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)


def _check_numbers(value, where):
    """Refuse whole numbers that no database column holds (beyond 64 bits)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, int) and not isinstance(item, bool):
            if not S.INT64_MIN <= item <= S.INT64_MAX:
                raise ApiError(400, "bad_request", f"{where}: a number is out of range")
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _loads(text, where):
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise ApiError(400, "bad_request", f"{where} is not valid JSON") from None
    _check_text(value, where)
    return value


def _body(required=True):
    length = request.content_length
    if length is not None and length > MAX_BODY:
        raise ApiError(413, "too_large", f"The body may have at most {MAX_BODY} bytes")
    raw = request.stream.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise ApiError(413, "too_large", f"The body may have at most {MAX_BODY} bytes")
    if not raw.strip():
        if required:
            raise ApiError(400, "bad_request", "Send a JSON body")
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "bad_request", "The body is not UTF-8") from None
    return _loads(text, "The body")


def _schema_instance(schema_cls):
    # A parameter schema keeps no state between loads; building one costs more than a load,
    # so the application keeps one of each.
    kept = current_app.extensions.setdefault("kontora.rest.schemas", {})
    found = kept.get(schema_cls)
    if found is None:
        found = kept[schema_cls] = schema_cls()
    return found


def _params(schema_cls) -> dict:
    args = request.args.to_dict()
    _check_text(args, "The query string")
    try:
        return _schema_instance(schema_cls).load(args)
    except ma.ValidationError as exc:
        raise ApiError(
            400, "bad_request", "Bad query parameters", _field_messages(exc.messages)
        ) from None


def _domain(text) -> list:
    if text is None or not text.strip():
        return []
    domain = _loads(text, "domain")
    if not isinstance(domain, list):
        raise ApiError(400, "bad_request", 'domain must be a JSON list like [["name", "=", "x"]]')
    return domain


def _names(text) -> list[str]:
    """Field names from "a,b" or '["a", "b"]'."""
    text = (text or "").strip()
    if text.startswith("["):
        names = _loads(text, "fields")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ApiError(400, "bad_request", "fields must be a list of field names")
    else:
        names = text.split(",")
    return [n.strip() for n in names if n.strip()]


def _field_names(model, text):
    """The fields to read: None (every readable one) or checked names."""
    names = _names(text)
    if not names:
        return None
    unknown = [n for n in names if n not in model._fields]
    if unknown:
        raise ApiError(
            400,
            "bad_request",
            f"{model._name} has no field {unknown[0]!r}",
            {n: ["Unknown field."] for n in unknown},
        )
    return list(dict.fromkeys(names))


# -- the request wrapper -----------------------------------------------------------------------------
class _RegistryChanged(Exception):
    """Raised inside a read when the installed addons changed: reload and read again."""


def checks_own_version(req) -> bool:
    """Whether this request checks the registry version in its own first query (a read
    with an API key, see ``api_route``), so the app need not query it beforehand."""
    return (
        req.method in SAFE_METHODS
        and req.path.startswith(bp.url_prefix + "/")
        and "Authorization" in req.headers
    )


def api_route(rule, methods):
    """Register a view ``view(env, **url_values)``: authentication, one transaction, errors."""
    write = not set(methods) <= SAFE_METHODS

    def decorate(view):
        def keyed_read(registry, token, values):
            # The key, the access version, the registry version and (PostgreSQL) the
            # snapshot come in one statement, just before the request's transaction, which
            # starts with what it read. The transaction opens with its first statement
            # (core.db.connection), so a page answered from the cache costs that one statement alone.
            state = TransactionState()
            uid, lang, key_id, last_used = key_user(
                registry, Environment(registry, 0, state=state), token
            )
            stored = state.stored_registry_version
            if stored is not None and parse_version(stored) != registry.version:
                raise _RegistryChanged
            context = {"lang": lang} if lang else {}
            with registry.transaction(uid=uid, context=context, write=False, state=state) as env:
                response = view(env, **values)
            touch_key(registry, key_id, last_used)
            return response

        @functools.wraps(view)
        def endpoint(**values):
            try:
                registry = g.registry
                token = bearer_token() if not write else None
                if token is not None:
                    for _attempt in range(3):
                        try:
                            response = keyed_read(registry, token, values)
                            break
                        except _RegistryChanged:
                            registry.reload_if_changed()
                    else:
                        raise ApiError(
                            503, "unavailable", "Addons are being installed; try again shortly"
                        )
                else:
                    uid, lang = authenticate(registry)
                    context = {"lang": lang} if lang else {}
                    with registry.transaction(uid=uid, context=context, write=write) as env:
                        response = view(env, **values)
            except Exception as exc:  # every error becomes JSON; real bugs are logged
                response = _error_for(exc)
            response.headers.setdefault("Cache-Control", "no-store")
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            return response

        bp.add_url_rule(rule, view.__name__, endpoint, methods=methods)
        return view

    return decorate


def _model(env, name):
    cls = env.registry.models.get(name)
    if cls is None or cls._abstract:
        raise ApiError(404, "not_found", f"No model {name!r}")
    return env[name]


def _record(model, id_):
    """The record with this id if the user may read it; 404 otherwise (see docs/api.md)."""
    model.check_access("read")
    found = None
    if 1 <= id_ <= S.INT64_MAX:
        found = model.with_context(active_test=False).search([("id", "=", id_)])
    if not found:
        raise ApiError(
            404, "not_found", f"{model._name} #{id_} does not exist or is not visible to you"
        )
    return model.browse(found.ids)


def _schemas(model):
    return S.model_schemas(type(model), model.env.registry)


def _dump(model, rows):
    return _schemas(model).dump(rows)


def _orm_values(model, vals: dict) -> dict:
    """Values as the ORM takes them: a list of ids for an x2many replaces its links."""
    result = {}
    for name, value in vals.items():
        field = model._fields[name]
        if field.type in ("one2many", "many2many"):
            value = [(6, 0, list(dict.fromkeys(value or [])))]
        result[name] = value
    return result


def _load(schema, data, partial=False):
    if not isinstance(data, dict):
        raise ApiError(422, "validation_error", "Send a JSON object of field values")
    return schema.load(data, partial=partial)


# -- routes -------------------------------------------------------------------------------------------------
@api_route("/<model>", ["GET"])
def search_records(env, model):
    Model = _model(env, model)
    Model.check_access("read")
    pages, key, state = _page_cache(env), None, None
    if pages is not None:
        # A page is only kept once its parameters were valid and its fields cacheable
        # (the key holds the registry build), so a hit needs no parsing.
        key = pages.key(env, request.query_string, (Model._name,))
        body, state = pages.get(env, key)
        if body is not None:
            return _json_response(body)
    params = _params(S.SearchParams)
    domain = _domain(params.get("domain"))
    names = _field_names(Model, params.get("fields"))
    if key is not None and not pages.cacheable(Model, names):
        key = None
    records, total, exact = Model.search_page(
        domain,
        order=params.get("order") or None,
        limit=params["limit"],
        offset=params["offset"],
        count_limit=_config(env, "api.count_limit", 0),
    )
    payload = {"count": total, "records": read_page(records, names)}
    if not exact:
        payload["count_limited"] = True
    body = _dumps(payload)
    if key is not None:
        pages.put(env, state, key, body)
    return _json_response(body)


def _page_cache(env):
    size = _config(env, "api.response_cache", 0)
    return PageCache(size) if size else None


def _config(env, key, default):
    config = env.registry.config
    try:
        return config[key] if config is not None else default
    except KeyError:
        return default


@api_route("/<model>", ["POST"])
def create_records(env, model):
    Model = _model(env, model)
    Model.check_access("create")
    body = _body()
    schemas = _schemas(Model)
    if isinstance(body, list):
        if not body or len(body) > MAX_CREATE:
            raise ApiError(422, "validation_error", f"Send 1 to {MAX_CREATE} records")
        if not all(isinstance(item, dict) for item in body):
            raise ApiError(422, "validation_error", "Each record is a JSON object")
        vals_list = schemas.create.load(body, many=True)
    else:
        vals_list = [_load(schemas.create, body)]
    records = Model.create([_orm_values(Model, vals) for vals in vals_list])
    return _json_response({"records": _dump(Model, records.read())}, 201)


@api_route("/<model>/<int:id>", ["GET"])
def read_record(env, model, id):
    Model = _model(env, model)
    record = _record(Model, id)
    names = _field_names(Model, _params(S.ReadParams).get("fields"))
    return _json_response(_dump(Model, record.read(names))[0])


@api_route("/<model>/<int:id>", ["PATCH"])
def update_record(env, model, id):
    Model = _model(env, model)
    Model.check_access("write")
    record = _record(Model, id)
    vals = dict(_load(_schemas(Model).update, _body(), partial=True))
    expected = vals.pop("write_date", None)
    if expected is not None:
        record.check_write_date(expected)
    if vals:
        record.write(_orm_values(Model, vals))
    return _json_response(_dump(Model, record.read())[0])


@api_route("/<model>/<int:id>", ["DELETE"])
def delete_record(env, model, id):
    Model = _model(env, model)
    Model.check_access("unlink")
    record = _record(Model, id)
    record.unlink()
    return Response(status=204)


@api_route("/<model>/<int:id>/<method>", ["POST"])
def call_method(env, model, id, method):
    Model = _model(env, model)
    func = S.api_methods(type(Model), Model.env.registry).get(method)
    if func is None:
        raise ApiError(404, "not_found", f"{Model._name} has no public method {method!r}")
    record = _record(Model, id)
    kwargs = _body(required=False)
    if kwargs is None:
        kwargs = {}
    if not isinstance(kwargs, dict):
        raise ApiError(400, "bad_request", "Send the method's arguments as a JSON object")
    _check_numbers(kwargs, "The arguments")
    bound = getattr(record, method)
    try:
        inspect.signature(bound).bind(**kwargs)
    except TypeError as exc:
        raise ApiError(400, "bad_request", f"{method}: {exc}") from None
    result = bound(**kwargs)
    return _json_response({"result": jsonable(result)})


@api_route("/<model>/<int:id>/history", ["GET"])
def record_history(env, model, id):
    Model = _model(env, model)
    record = _record(Model, id)
    return _json_response({"history": jsonable(record.message_history())})


@api_route("/<model>/fields", ["GET"])
def model_fields(env, model):
    Model = _model(env, model)
    Model.check_access("read")
    return _json_response({"fields": jsonable(Model.fields_get())})


@api_route("/<model>/export", ["GET"])
def export(env, model):
    Model = _model(env, model)
    Model.check_access("read")
    params = _params(S.ExportParams)
    paths = _names(params["fields"])
    if not paths:
        raise ApiError(400, "bad_request", "Name the fields to export: fields=name,partner_id.name")
    records = Model.search(
        _domain(params.get("domain")),
        order=params.get("order") or None,
        limit=params["limit"],
        offset=params["offset"],
    )
    rows = export_rows(records, paths)
    if params["format"] == "json":
        payload = {"fields": paths, "records": [dict(zip(paths, row, strict=True)) for row in rows]}
        return _json_response(jsonable(payload))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(paths)
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{Model._name}.csv"'
    return response


def _csv_cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    value = jsonable(value)
    # A text starting like a formula would run when the file is opened in a spreadsheet.
    if (
        isinstance(value, str)
        and value[:1] in ("=", "+", "-", "@", "\t", "\r")
        and not _NUMBER.match(value)
    ):
        return "'" + value
    return value


_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


@api_route("/<model>/read_group", ["GET"])
def read_group(env, model):
    Model = _model(env, model)
    Model.check_access("read")
    params = _params(S.ReadGroupParams)
    groupby = [g.strip() for g in params["groupby"].split(",") if g.strip()]
    aggregates = [a.strip() for a in params["aggregates"].split(",") if a.strip()] or ["__count"]
    # Days, weeks and months of date-times are the caller's own (stored UTC).
    tz = params.get("tz") or env.user.tz or "UTC"
    try:
        timezones.zone(tz)
    except timezones.UnknownTimeZone as exc:
        raise ApiError(400, "bad_request", str(exc), {"tz": [str(exc)]}) from None
    groups = Model.with_context(tz=tz).read_group(
        _domain(params.get("domain")),
        groupby,
        aggregates,
        order=params.get("order") or None,
        limit=params["limit"],
        offset=params["offset"],
    )
    result = []
    for group in groups:
        item = {}
        for key, value in group.items():
            if isinstance(value, tuple) and len(value) == 2:
                value = {"id": value[0], "display_name": value[1]}
            item[key] = jsonable(value)
        result.append(item)
    return _json_response({"groups": result})


@api_route("/<model>/name_search", ["GET"])
def name_search(env, model):
    Model = _model(env, model)
    Model.check_access("read")
    params = _params(S.NameSearchParams)
    found = Model.name_search(
        params["name"], domain=_domain(params.get("domain")), limit=params["limit"]
    )
    records = [{"id": id_, "display_name": name} for id_, name in found]
    return _json_response({"records": records})


@api_route("/report/<name>", ["GET"])
def print_report(env, name):
    """A report as PDF: only records the user may read, only fields he may see."""
    params = _params(S.ReportParams)
    env = env.with_context(lang=env.context.get("lang") or "en")
    try:
        report, model_name = reports.find_report(env, name, params.get("model"))
        pdf = reports.render_pdf(env, report, model_name, reports.parse_ids(params["ids"]))
    except reports.ReportError as exc:
        raise ApiError(400, "bad_request", str(exc)) from None
    return reports.pdf_response(pdf, report, model_name)


@api_route("/openapi.json", ["GET"])
def openapi(env):
    registry = env.registry
    cache = current_app.extensions.setdefault("kontora.rest.openapi", {})
    key = (id(registry), registry.version, tuple(registry.addon_names))
    document = cache.get(key)
    if document is None:
        cache.clear()
        document = cache[key] = openapi_document(registry)
    return _json_response(document)


# -- anything else under /api/v1 ------------------------------------------------------------------------
_ALL_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


class _AnyPath(PathConverter):
    """Like ``path`` but also matches newlines, so that no URL under /api/v1 escapes."""

    regex = "[^/](?s:.*?)"


@bp.route("/", methods=_ALL_METHODS, endpoint="api_root")
@bp.route("/<api_any_path:rest>", methods=_ALL_METHODS, endpoint="unknown_route")
def unknown_route(rest=""):
    try:
        _api_map().bind("localhost").match(request.path, method=request.method)
    except MethodNotAllowed as exc:
        allowed = ", ".join(sorted(exc.valid_methods or ()))
        response = _error_response(405, "method_not_allowed", f"Allowed here: {allowed}")
        response.headers["Allow"] = allowed
        return response
    except NotFound:
        pass
    return _error_response(404, "not_found", "No such API route; see /api/v1/openapi.json")


def _api_map():
    found = current_app.extensions.get("kontora.rest.map")
    if found is None:
        rules = [
            Rule(rule.rule, methods=rule.methods, endpoint=rule.endpoint)
            for rule in current_app.url_map.iter_rules()
            if rule.endpoint.startswith(bp.name + ".") and rule.endpoint not in _CATCH_ALL
        ]
        found = Map(rules, converters=current_app.url_map.converters)
        current_app.extensions["kontora.rest.map"] = found
    return found


def init_app(app):
    """Register the API on a Flask application."""
    app.url_map.converters["api_any_path"] = _AnyPath
    app.register_blueprint(bp)
