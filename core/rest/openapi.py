"""The OpenAPI 3.1 document of the REST API, built with apispec from the very schemas the
server validates and serialises with (``core/rest/schemas.py``), so the two cannot drift."""

from __future__ import annotations

import inspect
from types import MappingProxyType

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from core.reporting.reports import reports_of
from core.rest.schemas import (
    INT64_MAX,
    NULL,
    ErrorSchema,
    ExportJson,
    ExportParams,
    FieldsResult,
    HistoryResult,
    IdName,
    MethodResult,
    NameSearchParams,
    NameSearchResult,
    ReadGroupParams,
    ReadGroupResult,
    ReadParams,
    ReportParams,
    SearchParams,
    _Documented,
    api_methods,
    method_parameters,
    model_schemas,
)

# -- OpenAPI ------------------------------------------------------------------------------------------
ERRORS = MappingProxyType(
    {
        "400": ("BadRequest", "Bad parameters: domain, order, fields, limit or malformed JSON"),
        "401": ("Unauthorized", "No or invalid credentials"),
        "403": ("Forbidden", "Not allowed (access rights, restricted fields, CSRF token)"),
        "404": ("NotFound", "No such model, record (or one outside your rules) or method"),
        "409": ("Conflict", "The record was changed by someone else since you read it"),
        "413": ("TooLarge", "The request body is too large"),
        "422": ("Unprocessable", "Validation failed or a business rule refused the change"),
        "429": ("TooManyRequests", "Over the rate limit; Retry-After says when to try again"),
    }
)


def _documented(self, field, ret, **kwargs):
    """apispec attribute function: fields that state their own JSON schema."""
    if not isinstance(field, _Documented):
        return {}
    keep = {
        k: v
        for k, v in ret.items()
        if k in ("title", "description", "readOnly", "writeOnly") or k.startswith("x-")
    }
    ret.clear()
    ret.update(keep)
    schema = dict(field.json_schema())
    if field.allow_none and schema:
        schema = _nullable(schema)
    return schema


def _nullable(schema: dict) -> dict:
    if "anyOf" in schema:
        return {**schema, "anyOf": [*schema["anyOf"], {"type": NULL}]}
    result = dict(schema)
    types = result.get("type")
    if types is not None:
        types = list(types) if isinstance(types, list) else [types]
        result["type"] = [*types, NULL] if NULL not in types else types
    if "enum" in result:
        result["enum"] = [*result["enum"], None]
    return result


def _param_list(schema_cls):
    return [{"in": "query", "schema": schema_cls}]


def _responses(ok: dict, *codes) -> dict:
    responses = dict(ok)
    for code in ("400", "401", "403", "404", "422", "429", *codes):
        responses[code] = ERRORS[code][0]
    return responses


def _get_path(spec, path, operation_id, summary, tags, ok, parameters=()):
    """A read-only route of a model: GET with its parameters and the usual error answers."""
    operation = {"operationId": operation_id, "summary": summary, "tags": tags}
    if parameters:
        operation["parameters"] = list(parameters)
    operation["responses"] = _responses({"200": ok})
    spec.path(path=path, operations={"get": operation})


def _json(schema) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def openapi_document(registry) -> dict:
    """The OpenAPI 3.1 document of the REST API for the models installed in ``registry``."""
    plugin = MarshmallowPlugin(schema_name_resolver=lambda _schema: None)
    spec = APISpec(
        title="Kontora REST API",
        version="1",
        openapi_version="3.1.0",
        plugins=[plugin],
        info={
            "description": "Generated from the model registry; see docs/api.md. Every route "
            "answers errors as {'error': {'code', 'message', 'fields'?}}."
        },
        servers=[{"url": "/"}],
        security=[{"bearerAuth": []}, {"sessionCookie": []}],
    )
    plugin.converter.add_attribute_function(_documented)
    spec.components.security_scheme(
        "bearerAuth",
        {"type": "http", "scheme": "bearer", "description": "A per-user API key (kt_...)"},
    )
    spec.components.security_scheme(
        "sessionCookie",
        {
            "type": "apiKey",
            "in": "cookie",
            "name": "session",
            "description": "The web session; POST/PATCH/DELETE also need X-CSRF-Token",
        },
    )
    spec.components.schema("Error", schema=ErrorSchema)
    for name, description in ERRORS.values():
        spec.components.response(
            name, {"description": description, **_json({"$ref": "#/components/schemas/Error"})}
        )
    spec.components.schema("IdName", schema=IdName)
    id_param = {
        "in": "path",
        "name": "id",
        "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": INT64_MAX},
    }
    for name in sorted(registry.models):
        cls = registry.models[name]
        if cls._abstract:
            continue
        _model_paths(spec, registry, cls, id_param)
    _report_path(spec, registry)
    spec.path(
        path="/api/v1/openapi.json",
        operations={
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "responses": {
                    "200": {
                        "description": "OpenAPI 3.1",
                        **_json({"type": "object"}),
                    },
                    "401": "Unauthorized",
                },
            }
        },
    )
    return spec.to_dict()


def _model_paths(spec, registry, cls, id_param):
    name = cls._name
    schemas = model_schemas(cls, registry)
    read_ref, create_ref, update_ref = name, f"{name}-create", f"{name}-update"
    spec.components.schema(read_ref, schema=schemas.read)
    spec.components.schema(create_ref, schema=schemas.create)
    spec.components.schema(update_ref, schema=schemas.update)
    ref = {"$ref": f"#/components/schemas/{read_ref}"}
    label = cls._description or name
    tags = [name]
    base = f"/api/v1/{name}"
    spec.path(
        path=base,
        operations={
            "get": {
                "operationId": f"{name}.search",
                "summary": f"Search {label} records",
                "tags": tags,
                "parameters": _param_list(SearchParams),
                "responses": _responses(
                    {
                        "200": {
                            "description": "The total matching the domain and one page",
                            **_json(
                                {
                                    "type": "object",
                                    "properties": {
                                        "count": {"type": "integer", "minimum": 0},
                                        "count_limited": {
                                            "type": "boolean",
                                            "description": "true: counting stopped at "
                                            "api.count_limit; there are more",
                                        },
                                        "records": {"type": "array", "items": ref},
                                    },
                                    "required": ["count", "records"],
                                }
                            ),
                        }
                    }
                ),
            },
            "post": {
                "operationId": f"{name}.create",
                "summary": f"Create {label} records (an object or a list of up to 1000)",
                "tags": tags,
                "requestBody": {
                    "required": True,
                    **_json(
                        {
                            "oneOf": [
                                {"$ref": f"#/components/schemas/{create_ref}"},
                                {
                                    "type": "array",
                                    "items": {"$ref": f"#/components/schemas/{create_ref}"},
                                    "minItems": 1,
                                    "maxItems": 1000,
                                },
                            ]
                        }
                    ),
                },
                "responses": _responses(
                    {
                        "201": {
                            "description": "The created records",
                            **_json(
                                {
                                    "type": "object",
                                    "properties": {"records": {"type": "array", "items": ref}},
                                    "required": ["records"],
                                }
                            ),
                        }
                    },
                    "413",
                ),
            },
        },
    )
    spec.path(
        path=base + "/{id}",
        operations={
            "get": {
                "operationId": f"{name}.read",
                "summary": f"Read one {label}",
                "tags": tags,
                "parameters": [id_param, *_param_list(ReadParams)],
                "responses": _responses({"200": {"description": "The record", **_json(ref)}}),
            },
            "patch": {
                "operationId": f"{name}.update",
                "summary": f"Change one {label}",
                "tags": tags,
                "parameters": [id_param],
                "requestBody": {
                    "required": True,
                    **_json({"$ref": f"#/components/schemas/{update_ref}"}),
                },
                "responses": _responses(
                    {"200": {"description": "The record after the change", **_json(ref)}},
                    "409",
                    "413",
                ),
            },
            "delete": {
                "operationId": f"{name}.delete",
                "summary": f"Delete one {label}",
                "tags": tags,
                "parameters": [id_param],
                "responses": _responses({"204": {"description": "Deleted"}}),
            },
        },
    )
    for method, func in sorted(api_methods(cls, registry).items()):
        properties, required, extra = method_parameters(func)
        body = {"type": "object", "properties": properties, "additionalProperties": extra}
        if required:
            body["required"] = required
        doc = inspect.getdoc(func) or ""
        spec.path(
            path=f"{base}/{{id}}/{method}",
            operations={
                "post": {
                    "operationId": f"{name}.{method}",
                    "summary": doc.splitlines()[0] if doc else method,
                    "description": doc,
                    "tags": tags,
                    "parameters": [id_param],
                    "requestBody": {"required": bool(required), **_json(body)},
                    "responses": _responses(
                        {"200": {"description": "What the method returned", **_json(MethodResult)}},
                        "413",
                    ),
                }
            },
        )
    _get_path(
        spec,
        base + "/{id}/history",
        f"{name}.history",
        f"The history of one {label} record, newest first",
        tags,
        {"description": "Changes, notes, creation", **_json(HistoryResult)},
        [id_param],
    )
    _get_path(
        spec,
        base + "/fields",
        f"{name}.fields",
        f"The fields of {label} you may see",
        tags,
        {"description": "Field metadata", **_json(FieldsResult)},
    )
    _get_path(
        spec,
        base + "/export",
        f"{name}.export",
        f"Export {label} records as CSV (with a header row) or JSON",
        tags,
        {
            "description": "The values of the field paths",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {"schema": ExportJson},
            },
        },
        _param_list(ExportParams),
    )
    _get_path(
        spec,
        base + "/read_group",
        f"{name}.read_group",
        f"Grouped counts and totals of {label} records",
        tags,
        {"description": "One entry per group", **_json(ReadGroupResult)},
        _param_list(ReadGroupParams),
    )
    _get_path(
        spec,
        base + "/name_search",
        f"{name}.name_search",
        f"{label} records whose name matches (autocompletion)",
        tags,
        {"description": "Ids and display names", **_json(NameSearchResult)},
        _param_list(NameSearchParams),
    )


def _report_path(spec, registry):

    names = sorted(reports_of(registry))
    _get_path(
        spec,
        "/api/v1/report/{name}",
        "report",
        "A printable report as PDF, for records you may read (see docs/api.md)",
        ["report"],
        {
            "description": "The PDF",
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        },
        [
            {
                "in": "path",
                "name": "name",
                "required": True,
                "schema": {"type": "string", "enum": names},
            },
            *_param_list(ReportParams),
        ],
    )
