"""Marshmallow schemas generated from the model registry, for the REST API.

Every concrete model gets three schemas: ``read`` (what the API returns), ``create`` and
``update`` (request bodies). The REST API (``core/rest/routes.py``) validates and serialises with
them, and ``core.rest.openapi.openapi_document(registry)`` describes the very same schema objects
with apispec, so the document cannot drift from what the server does.

Wire formats: money is a string with the field's number of decimal places (``"1234.50"``;
requests may also send a JSON number), dates ``YYYY-MM-DD``, date-times RFC 3339 in UTC
(``2026-01-31T09:30:00Z``), many2one ``{"id": 7, "display_name": "..."}`` or ``null``
(requests send the id), one2many/many2many a list of ids (a request's list replaces the
links), selections one of their keys, binary content base64.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import inspect
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import marshmallow as ma
from marshmallow import validate as V

from core.orm.models import Model
from core.orm.support import MAGIC_FIELDS

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_X2MANY = 10_000
MAX_BINARY = 20 * 2**20
MONEY_MAX_DIGITS = 20  # the precision of monetary columns (core.orm.fields.MoneyColumn)
NULL = "null"


# -- field kinds on the wire ---------------------------------------------------------------------------
class _Documented:
    """A field that states its own JSON schema (without ``null``; that follows allow_none)."""

    def json_schema(self) -> dict:
        raise NotImplementedError


class StrictBoolean(_Documented, ma.fields.Field):
    """``true`` or ``false`` only (no 1/0 or "yes"); an empty value reads as false."""

    default_error_messages = {"invalid": "Not a valid boolean: send true or false."}

    def _serialize(self, value, attr, obj, **kwargs):
        return bool(value)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            return value
        raise self.make_error("invalid")

    def json_schema(self):
        return {"type": "boolean"}


class Money(_Documented, ma.fields.Field):
    """An amount: a decimal string on output; a string or a number on input."""

    default_error_messages = {
        "invalid": 'Not a valid amount: send a number or a string like "1234.50".',
        "range": "The amount must be less than {limit} in absolute value.",
    }
    _TEXT = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*$")

    def __init__(self, digits=2, for_input=False, **kwargs):
        super().__init__(**kwargs)
        self.digits = digits
        self.for_input = for_input
        self.int_digits = MONEY_MAX_DIGITS - digits
        self.quantum = Decimal(1).scaleb(-digits)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
        if not amount.is_finite():
            return None
        return f"{amount.quantize(self.quantum, rounding=ROUND_HALF_UP):f}"

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise self.make_error("invalid")
        if isinstance(value, str) and not self._TEXT.match(value):
            raise self.make_error("invalid")
        try:
            amount = Decimal(str(value).strip())
        except (InvalidOperation, ValueError):
            raise self.make_error("invalid") from None
        limit = Decimal(10) ** self.int_digits
        if not amount.is_finite():
            raise self.make_error("invalid")
        if abs(amount) >= limit:
            raise self.make_error("range", limit=f"1e{self.int_digits}")
        amount = amount.quantize(self.quantum, rounding=ROUND_HALF_UP)
        if abs(amount) >= limit:
            raise self.make_error("range", limit=f"1e{self.int_digits}")
        return amount

    def json_schema(self):
        if self.for_input:
            fraction = f"(\\.[0-9]{{1,{self.digits}}})?" if self.digits else ""
            biggest = 10**self.int_digits - 1
            return {
                "anyOf": [
                    {"type": "string", "pattern": f"^-?[0-9]{{1,{self.int_digits}}}{fraction}$"},
                    {"type": "number", "minimum": -biggest, "maximum": biggest},
                ]
            }
        fraction = f"\\.[0-9]{{{self.digits}}}" if self.digits else ""
        return {"type": "string", "format": "decimal", "pattern": f"^-?[0-9]+{fraction}$"}


class UTCDateTime(_Documented, ma.fields.DateTime):
    """RFC 3339 on output (always UTC, ``Z``, with microseconds when there are any, so a
    ``write_date`` sent back is exactly the one read); on input any offset, or none for UTC."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.datetime.fromisoformat(value)
        if value.tzinfo is not None:
            value = value.astimezone(datetime.UTC).replace(tzinfo=None)
        return value.isoformat() + "Z"

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        if moment.tzinfo is not None:
            try:
                moment = moment.astimezone(datetime.UTC).replace(tzinfo=None)
            except (OverflowError, ValueError):
                raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE) from None
        return moment

    def json_schema(self):
        return {"type": "string", "format": "date-time"}


class Many2oneRead(_Documented, ma.fields.Field):
    """The ``(id, display name)`` pair of ``read()`` as ``{"id", "display_name"}``."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None or value is False:
            return None
        if isinstance(value, list | tuple):
            return {"id": value[0], "display_name": value[1]}
        return {"id": int(value), "display_name": None}

    def json_schema(self):
        return {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "display_name": {"type": ["string", NULL]},
            },
            "required": ["id", "display_name"],
        }


class Base64Bytes(_Documented, ma.fields.Field):
    default_error_messages = {
        "invalid": "Not valid base64 content.",
        "too_large": f"The content is larger than {MAX_BINARY} bytes.",
    }

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        if isinstance(value, str):
            value = value.encode()
        return base64.b64encode(bytes(value)).decode("ascii")

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error("invalid")
        if len(value) > MAX_BINARY * 4 // 3 + 4:
            raise self.make_error("too_large")
        try:
            return base64.b64decode(value.encode("ascii"), validate=True)
        except (binascii.Error, ValueError, UnicodeEncodeError):
            raise self.make_error("invalid") from None

    def json_schema(self):
        return {"type": "string", "contentEncoding": "base64"}


class SelectionKey(_Documented, ma.fields.String):
    def __init__(self, keys, **kwargs):
        self.keys = list(keys)
        super().__init__(validate=V.OneOf(self.keys), **kwargs)

    def json_schema(self):
        return {"type": "string", "enum": list(self.keys)}


class AnyJson(_Documented, ma.fields.Raw):
    def json_schema(self):
        return {}


def _int64(**kwargs):
    return ma.fields.Integer(strict=True, validate=V.Range(INT64_MIN, INT64_MAX), **kwargs)


def _record_id(**kwargs):
    return ma.fields.Integer(strict=True, validate=V.Range(1, INT64_MAX), **kwargs)


# -- per-model schemas --------------------------------------------------------------------------------
class ModelSchemas:
    """The read, create and update schemas of one model (one registry build)."""

    def __init__(self, cls):
        self.model = cls._name
        base = _schema_name(cls._name)
        read, create, update = {}, {}, {}
        for name, field in cls._fields.items():
            read[name] = _wire_field(field, "read")
            if _writable(name, field):
                create[name] = _wire_field(field, "create")
                update[name] = _wire_field(field, "update")
        update["write_date"] = UTCDateTime(
            allow_none=True,
            load_only=True,
            metadata={
                "description": "The write_date you read: the change is refused (409) if "
                "someone else changed the record since."
            },
        )
        self.read = ma.Schema.from_dict(read, name=f"{base}Read")()
        self.create = ma.Schema.from_dict(create, name=f"{base}Create")()
        self.update = ma.Schema.from_dict(update, name=f"{base}Update")()
        self.writable = set(create)
        self._output = {name: _output_converter(f) for name, f in self.read.fields.items()}
        self._columns = {name: _column_converter(f) for name, f in self.read.fields.items()}

    def dump_columns(self, ids, names, columns) -> list[dict]:
        """The same output as ``dump(read(names))`` from ``read()``'s columns (one list of
        values per name, in the order of ``ids``), converted a column at a time."""
        converters = self._columns
        keys, out = ["id"], [list(ids)]
        for name, column in zip(names, columns, strict=True):
            convert = converters.get(name, False)
            if convert is False:
                continue  # not in the read schema
            keys.append(name)
            out.append(column if convert is None else convert(column))
        return [dict(zip(keys, values, strict=True)) for values in zip(*out, strict=True)]

    def dump(self, rows) -> list[dict]:
        """``self.read.dump(rows, many=True)``, without marshmallow's per-value overhead
        (the converters come from the read schema's own fields, so the shape is the same)."""
        if not rows:
            return []
        output = self._output
        keys = tuple(name for name in rows[0] if name in output)
        converted = [(name, output[name]) for name in keys if output[name] is not None]
        result = []
        for row in rows:
            if row.keys() != rows[0].keys():  # rows of one read() share their keys
                keys = tuple(name for name in row if name in output)
                converted = [(name, output[name]) for name in keys if output[name] is not None]
            item = {name: row[name] for name in keys}
            for name, convert in converted:
                item[name] = convert(item[name])
            result.append(item)
        return result


def _column_converter(field):
    """``_output_converter`` for a whole column at once (None: values as they are)."""
    if isinstance(field, UTCDateTime):
        one = _output_converter(field)
        return lambda values: [
            None
            if v is None
            else (
                v.isoformat() + "Z" if type(v) is datetime.datetime and v.tzinfo is None else one(v)
            )
            for v in values
        ]
    if isinstance(field, Many2oneRead):
        one = _output_converter(field)
        return lambda values: [
            None
            if v is None or v is False
            else ({"id": v[0], "display_name": v[1]} if type(v) is tuple else one(v))
            for v in values
        ]
    if isinstance(field, StrictBoolean):
        return lambda values: [bool(v) for v in values]
    one = _output_converter(field)
    if one is None:
        return None
    return lambda values: [one(v) for v in values]


def _output_converter(field):
    """How one read-schema field turns a ``read()`` value into JSON (None: as it is)."""
    if isinstance(field, UTCDateTime):
        serialize = field._serialize

        def moment(value):
            if value is None:
                return None
            if isinstance(value, datetime.datetime) and value.tzinfo is None:
                return value.isoformat() + "Z"  # the usual naive UTC value, directly
            return serialize(value, None, None)

        return moment
    if isinstance(field, Money | Many2oneRead | Base64Bytes | StrictBoolean):
        serialize = field._serialize
        return lambda value: serialize(value, None, None)
    if isinstance(field, ma.fields.Date):
        return lambda value: None if value is None else value.isoformat()
    if isinstance(field, ma.fields.Float):
        return lambda value: None if value is None else float(value)
    return None


def _schema_name(model_name):
    return "".join(part.capitalize() for part in re.split(r"[._]", model_name))


def _writable(name, field) -> bool:
    return not (name in MAGIC_FIELDS or name == "display_name" or field.compute)


def _wire_field(field, mode):
    """The marshmallow field of one model field for reading or writing."""
    read = mode == "read"
    metadata = {"title": field.string or field.name}
    if field.help:
        metadata["description"] = field.help
    if field.groups:
        metadata["x_groups"] = field.groups
    if field.type == "binary":
        metadata["description"] = (
            (field.help + " " if field.help else "") + "Base64; read only when asked for by name."
        ).strip()
    required = mode == "create" and field.required and field.default is None and not field.compute
    nullable = read or not field.required
    kwargs = {"required": required, "allow_none": nullable, "metadata": metadata}
    kind = field.type
    if field.name == "id":
        return _record_id(metadata=metadata)
    if kind in ("char", "text"):
        size = getattr(field, "size", None)
        return ma.fields.String(validate=V.Length(max=size) if size else None, **kwargs)
    if kind == "integer":
        return _int64(**kwargs)
    if kind == "float":
        return ma.fields.Float(allow_nan=False, **kwargs)
    if kind == "monetary":
        return Money(digits=field.digits, for_input=not read, **kwargs)
    if kind == "boolean":
        return StrictBoolean(required=required, allow_none=False, metadata=metadata)
    if kind == "date":
        return ma.fields.Date(**kwargs)
    if kind == "datetime":
        return UTCDateTime(**kwargs)
    if kind == "selection":
        return SelectionKey(field.keys(), **kwargs)
    if kind == "many2one":
        return Many2oneRead(**kwargs) if read else _record_id(**kwargs)
    if kind in ("one2many", "many2many"):
        return ma.fields.List(
            _record_id(),
            validate=None if read else V.Length(max=MAX_X2MANY),
            required=required,
            allow_none=False,
            metadata=metadata,
        )
    if kind == "binary":
        return Base64Bytes(**kwargs)
    return AnyJson(**kwargs)  # json and any kind added later


def _per_build(registry, kind, cls, build):
    """``build(cls)``, kept in the registry's caches for the build (rebuilding the registry
    replaces them); without a registry, built for the caller alone."""
    if registry is None:
        return build(cls)
    kept = registry.caches.setdefault(kind, {})
    found = kept.get(cls)
    if found is None:
        found = kept[cls] = build(cls)
    return found


def model_schemas(cls, registry=None) -> ModelSchemas:
    """The schemas of a model's final class, built once per registry build."""
    return _per_build(registry, "rest.schemas", cls, ModelSchemas)


# -- public methods ----------------------------------------------------------------------------------
def _base_public(name) -> bool:
    value = Model.__dict__.get(name)
    return name.startswith("action_") or bool(getattr(value, "_api_public", False))


# Everything the base Model defines is internal (CRUD, sudo, with_user, browse, ...) except
# its action_* methods and what it marks public itself (message_history, message_post).
_INTERNAL = frozenset(n for n in dir(Model) if not _base_public(n))
_NEEDS_ACTIVE = ("action_archive", "action_unarchive")


def api_methods(cls, registry=None) -> dict:
    """The methods of a model the API may call on a record: ``action_*`` ones and those
    marked ``@api.public``; never private (``_x``) or internal ones, even if marked."""
    return _per_build(registry, "rest.methods", cls, _api_methods)


def _api_methods(cls) -> dict:
    found = {}
    for name in dir(cls):
        if name.startswith("_") or name in _INTERNAL:
            continue
        if name in _NEEDS_ACTIVE and "active" not in cls._fields:
            continue
        try:
            attr = inspect.getattr_static(cls, name)
        except AttributeError:
            continue
        if not inspect.isfunction(attr):
            continue  # fields, properties, class and static methods
        marked = any(
            getattr(klass.__dict__.get(name), "_api_public", False) for klass in cls.__mro__
        )
        if name.startswith("action_") or marked:
            found[name] = attr
    return found


def method_parameters(func) -> tuple[dict, list, bool]:
    """(properties, required names, whether more keywords are accepted) of a method."""
    properties, required, extra = {}, [], False
    for index, param in enumerate(inspect.signature(func).parameters.values()):
        if index == 0:
            continue  # self
        if param.kind is param.VAR_KEYWORD:
            extra = True
        elif param.kind in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
            properties[param.name] = {}
            if param.default is param.empty:
                required.append(param.name)
    return properties, required, extra


# -- the API's own schemas -----------------------------------------------------------------------------
class ErrorBody(ma.Schema):
    code = ma.fields.String(required=True, metadata={"description": "Machine-readable kind"})
    message = ma.fields.String(required=True)
    fields = ma.fields.Dict(
        keys=ma.fields.String(),
        values=AnyJson(),
        metadata={"description": "Messages per field (validation errors)"},
    )


class ErrorSchema(ma.Schema):
    error = ma.fields.Nested(ErrorBody, required=True)


class _Params(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE


DOMAIN_DOC = 'A JSON list in Odoo\'s notation, e.g. [["stage", "=", "won"]]'
FIELDS_DOC = 'Field names: "name,stage" or a JSON list'


class SearchParams(_Params):
    domain = ma.fields.String(metadata={"description": DOMAIN_DOC})
    fields = ma.fields.String(metadata={"description": FIELDS_DOC + "; all readable by default"})
    order = ma.fields.String(metadata={"description": 'e.g. "name desc, id"'})
    limit = ma.fields.Integer(load_default=80, validate=V.Range(0, 1000))
    offset = ma.fields.Integer(load_default=0, validate=V.Range(0, 10**12))


class ReadParams(_Params):
    fields = ma.fields.String(metadata={"description": FIELDS_DOC})


class ExportParams(_Params):
    fields = ma.fields.String(
        required=True,
        metadata={"description": FIELDS_DOC + '; paths through many2one: "partner_id.name"'},
    )
    domain = ma.fields.String(metadata={"description": DOMAIN_DOC})
    order = ma.fields.String()
    limit = ma.fields.Integer(load_default=10_000, validate=V.Range(0, 100_000))
    offset = ma.fields.Integer(load_default=0, validate=V.Range(0, 10**12))
    format = ma.fields.String(load_default="csv", validate=V.OneOf(["csv", "json"]))


class ReadGroupParams(_Params):
    groupby = ma.fields.String(
        load_default="",
        metadata={"description": 'Up to 3, comma-separated: "stage,create_date:month"'},
    )
    aggregates = ma.fields.String(
        load_default="__count",
        metadata={"description": 'Comma-separated: "__count,expected_revenue:sum"'},
    )
    domain = ma.fields.String(metadata={"description": DOMAIN_DOC})
    order = ma.fields.String(metadata={"description": 'A grouping or aggregate: "__count desc"'})
    limit = ma.fields.Integer(load_default=1000, validate=V.Range(0, 10_000))
    offset = ma.fields.Integer(load_default=0, validate=V.Range(0, 10**12))
    tz = ma.fields.String(
        validate=V.Length(1, 64),
        metadata={
            "description": "Time zone of day, week, month groups of date-times, e.g. "
            '"Europe/Moscow" (default: your user\'s time zone, else UTC)'
        },
    )


class NameSearchParams(_Params):
    name = ma.fields.String(load_default="")
    domain = ma.fields.String(metadata={"description": DOMAIN_DOC})
    limit = ma.fields.Integer(load_default=8, validate=V.Range(1, 1000))


class ReportParams(_Params):
    ids = ma.fields.String(
        required=True,
        validate=V.Regexp(r"^\s*\d{1,19}(\s*,\s*\d{1,19})*\s*$"),
        metadata={"description": 'Record ids separated by commas, e.g. "1,2" (at most 200)'},
    )
    model = ma.fields.String(
        metadata={"description": "The model to print, for reports any model can use"}
    )


class IdName(ma.Schema):
    id = ma.fields.Integer(required=True)
    display_name = ma.fields.String(required=True, allow_none=True)


class NameSearchResult(ma.Schema):
    records = ma.fields.List(ma.fields.Nested(IdName), required=True)


class ReadGroupResult(ma.Schema):
    groups = ma.fields.List(
        ma.fields.Dict(keys=ma.fields.String(), values=AnyJson()),
        required=True,
        metadata={
            "description": "One object per group: the grouping values (many2one as "
            '{"id", "display_name"}) and the aggregates, keyed as asked'
        },
    )


class FieldsResult(ma.Schema):
    fields = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Dict(), required=True)


class HistoryChange(ma.Schema):
    field = ma.fields.String(required=True)
    field_desc = ma.fields.String(required=True, allow_none=True)
    old = ma.fields.String(required=True, allow_none=True)
    new = ma.fields.String(required=True, allow_none=True)


class HistoryEntry(ma.Schema):
    id = ma.fields.Integer(required=True)
    date = UTCDateTime(required=True)
    author = ma.fields.String(required=True, allow_none=True)
    event = ma.fields.String(
        required=True, validate=V.OneOf(["created", "changed", "deleted", "note"])
    )
    body = ma.fields.String(required=True, allow_none=True)
    changes = ma.fields.List(ma.fields.Nested(HistoryChange), required=True)


class HistoryResult(ma.Schema):
    history = ma.fields.List(ma.fields.Nested(HistoryEntry), required=True)


class MethodResult(ma.Schema):
    result = AnyJson(required=True, allow_none=True)


class ExportJson(ma.Schema):
    fields = ma.fields.List(ma.fields.String(), required=True)
    records = ma.fields.List(
        ma.fields.Dict(keys=ma.fields.String(), values=AnyJson()), required=True
    )
