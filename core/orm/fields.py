"""Field kinds of Kontora models: metadata, database column, conversion, record access."""

from __future__ import annotations

import datetime
import json
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType

import peewee

from core.exceptions import ValidationError
from core.money import round_money


class JSONTextField(peewee.TextField):
    """JSON stored as text, the same on SQLite and PostgreSQL."""

    def db_value(self, value):
        return None if value is None else json.dumps(value, ensure_ascii=False, default=str)

    def python_value(self, value):
        return None if value is None else json.loads(value)


class MoneyColumn(peewee.DecimalField):
    """A decimal column read back with exactly its number of places (SQLite stores REAL)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.quantum = Decimal(1).scaleb(-self.decimal_places)

    def python_value(self, value):
        if value is None:
            return None
        if isinstance(value, Decimal) and value.as_tuple().exponent == -self.decimal_places:
            return value  # PostgreSQL's numeric column already has the places
        return Decimal(str(value)).quantize(self.quantum, rounding=ROUND_HALF_UP)


class Field:
    """A declared field; the registry copies it per model and binds ``name``/``model_name``."""

    type: str = ""
    column = True  # has a column in the model's table
    relational = False
    _slots = {
        "string": None,
        "help": "",
        "required": False,
        "readonly": False,
        "default": None,
        "index": False,
        "groups": None,
        "tracking": False,
        "compute": None,
        "store": None,
        "depends": (),
        "copy": True,
        "manual": False,
    }

    def __init__(self, string=None, **kwargs):
        if string is not None:
            kwargs["string"] = string
        unknown = set(kwargs) - set(self._all_slots())
        if unknown:
            raise TypeError(f"{type(self).__name__}: unknown arguments {sorted(unknown)}")
        self.args = kwargs
        for key, value in self._all_slots().items():
            setattr(self, key, kwargs.get(key, value))
        if self.compute and self.store is None:
            self.store = False
        if self.store is None:
            self.store = True
        self.depends = tuple(self.depends)
        if self.index not in (True, False, None, "trigram"):
            raise TypeError(f"{type(self).__name__}: index must be True, False or 'trigram'")
        if self.index == "trigram" and self.type not in ("char", "text"):
            raise TypeError(f"{type(self).__name__}: a trigram index is for char and text fields")
        self.name = None
        self.model_name = None
        self.addon = None  # the addon whose declaration introduced the field

    @classmethod
    def _all_slots(cls):
        slots = {}
        for klass in reversed(cls.__mro__):
            slots.update(getattr(klass, "_slots", {}))
        return slots

    # -- registry support ---------------------------------------------------------------
    def copy_for(self, model_name, name, addon=None):
        """A fresh copy bound to one model of one registry."""
        field = type(self)(**self.args)
        field.name, field.model_name, field.addon = name, model_name, addon
        if field.string is None:
            field.string = name.replace("_id", "").replace("_", " ").strip().capitalize()
        return field

    def merged_with(self, other: Field) -> Field:
        """An extension redefining a field: the later arguments win, the rest are kept."""
        if type(other) is not type(self):
            return other
        return type(self)(**{**self.args, **other.args})

    @property
    def stored_column(self) -> bool:
        return self.column and self.store

    def peewee_field(self):
        """The peewee column for this field (stored fields only)."""
        field = self._peewee_field()
        field.index = bool(self.index)
        return field

    def _peewee_field(self):
        raise NotImplementedError

    # -- values -------------------------------------------------------------------------
    def convert_to_cache(self, value, env):
        """Normalise a value given by code or a user to what the cache and database hold."""
        return None if value is False and self.type != "boolean" else value

    def convert_to_record(self, value, record):
        return value

    def convert_to_read(self, value, record):
        return value

    def default_value(self, model):
        default = self.default
        return default(model) if callable(default) else default

    def describe(self) -> dict:
        """Metadata for views, the API and documentation."""
        return {
            "name": self.name,
            "type": self.type,
            "string": self.string,
            "help": self.help,
            "required": bool(self.required),
            "readonly": bool(self.readonly or (self.compute and not self.store)),
            "store": bool(self.store),
            "index": bool(self.index),
            "groups": self.groups,
            "tracking": bool(self.tracking),
            "manual": bool(self.manual),
        }

    # -- descriptor on recordsets ---------------------------------------------------------
    def __get__(self, record, owner=None):
        if record is None:
            return self
        return self.convert_to_record(record._get_value(self), record)

    def __set__(self, record, value):
        record._set_value(self, value)

    def __repr__(self):
        return f"<{type(self).__name__} {self.model_name}.{self.name}>"


class Char(Field):
    type = "char"
    _slots = {"size": None, "translate": False}

    def _peewee_field(self):
        return peewee.TextField(null=True)

    def convert_to_cache(self, value, env):
        if value is None or value is False:
            return None
        value = str(value)
        if self.size and len(value) > self.size:
            raise ValidationError(
                f"{self.string}: at most {self.size} characters, got {len(value)}", self.name
            )
        return value


class Text(Char):
    type = "text"


class Integer(Field):
    type = "integer"

    def _peewee_field(self):
        return peewee.BigIntegerField(null=True)

    def convert_to_cache(self, value, env):
        if value is None or value is False:
            return None
        if isinstance(value, bool):
            return int(value)
        try:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(value)
        except (TypeError, ValueError):
            raise ValidationError(
                f"{self.string}: expected a whole number, got {value!r}", self.name
            ) from None


class Float(Field):
    type = "float"
    _slots = {"digits": None}

    def _peewee_field(self):
        return peewee.DoubleField(null=True)

    def convert_to_cache(self, value, env):
        if value is None or value is False:
            return None
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValidationError(
                f"{self.string}: expected a number, got {value!r}", self.name
            ) from None
        return round(number, self.digits) if self.digits is not None else number


class Monetary(Field):
    """Money: ``Decimal``, rounded half-up to ``digits`` places (2 unless said otherwise)."""

    type = "monetary"
    _slots = {"digits": 2, "currency_field": None}

    def _peewee_field(self):
        return MoneyColumn(max_digits=20, decimal_places=self.digits, null=True, auto_round=True)

    def convert_to_cache(self, value, env):
        if value is None or value is False:
            return None
        try:
            number = round_money(value if isinstance(value, Decimal) else str(value), self.digits)
        except ValueError:
            raise ValidationError(
                f"{self.string}: expected an amount, got {value!r}", self.name
            ) from None
        # The column holds 20 digits (PostgreSQL refuses more): say so instead of failing there.
        if not number.is_finite() or abs(number) >= Decimal(10) ** (20 - self.digits):
            raise ValidationError(f"{self.string}: {value!r} is out of range", self.name)
        return number

    def describe(self):
        return {**super().describe(), "digits": self.digits, "currency_field": self.currency_field}


class Boolean(Field):
    type = "boolean"

    def _peewee_field(self):
        return peewee.BooleanField(null=True)

    def convert_to_cache(self, value, env):
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in ("1", "true", "yes", "y", "on", "да"):
                return True
            if lowered in ("0", "false", "no", "n", "off", "", "нет"):
                return False
            raise ValidationError(f"{self.string}: expected yes or no, got {value!r}", self.name)
        return bool(value)

    def convert_to_record(self, value, record):
        return bool(value)


class Date(Field):
    type = "date"

    def _peewee_field(self):
        return peewee.DateField(null=True)

    def convert_to_cache(self, value, env):
        if value is None or value is False or value == "":
            return None
        if isinstance(value, datetime.datetime):
            return value.date()
        if isinstance(value, datetime.date):
            return value
        try:
            return datetime.date.fromisoformat(str(value)[:10])
        except ValueError:
            raise ValidationError(
                f"{self.string}: expected a date YYYY-MM-DD, got {value!r}", self.name
            ) from None


class Datetime(Field):
    """A moment in time, stored as naive UTC."""

    type = "datetime"

    def _peewee_field(self):
        return peewee.DateTimeField(null=True)

    def convert_to_cache(self, value, env):
        if value is None or value is False or value == "":
            return None
        if isinstance(value, datetime.datetime):
            if value.tzinfo is not None:
                value = value.astimezone(datetime.UTC).replace(tzinfo=None)
            return value
        if isinstance(value, datetime.date):
            return datetime.datetime.combine(value, datetime.time())
        try:
            return self.convert_to_cache(datetime.datetime.fromisoformat(str(value)), env)
        except ValueError:
            raise ValidationError(
                f"{self.string}: expected a date and time YYYY-MM-DD HH:MM:SS, got {value!r}",
                self.name,
            ) from None


class Selection(Field):
    type = "selection"
    _slots = {"selection": ()}

    def __init__(self, selection=None, string=None, **kwargs):
        if selection is not None:
            kwargs["selection"] = selection
        super().__init__(string, **kwargs)
        self.selection = list(self.selection)

    def _peewee_field(self):
        return peewee.TextField(null=True)

    def keys(self):
        return [key for key, _label in self.selection]

    def convert_to_cache(self, value, env):
        if value is None or value is False or value == "":
            return None
        if value not in self.keys():
            allowed = ", ".join(self.keys())
            raise ValidationError(f"{self.string}: {value!r} is not one of: {allowed}", self.name)
        return value

    def describe(self):
        return {**super().describe(), "selection": [list(pair) for pair in self.selection]}


class Json(Field):
    type = "json"

    def _peewee_field(self):
        return JSONTextField(null=True)

    def convert_to_cache(self, value, env):
        if value is None:
            return None
        try:
            json.dumps(value, default=str)
        except (TypeError, ValueError):
            raise ValidationError(f"{self.string}: not JSON-serialisable", self.name) from None
        return value


class Binary(Field):
    """File content kept as an attachment (``ir.attachment``), not in the model's table."""

    type = "binary"
    _slots = {"attachment": True}

    def __init__(self, string=None, **kwargs):
        super().__init__(string, **kwargs)
        # attachment=False keeps the bytes in the model's own table (ir.attachment does).
        self.column = not self.attachment

    def _peewee_field(self):
        return peewee.BlobField(null=True)

    def convert_to_cache(self, value, env):
        if value is None or value is False:
            return None
        if isinstance(value, str):
            value = value.encode()
        if not isinstance(value, bytes | bytearray | memoryview):
            raise ValidationError(f"{self.string}: expected file content (bytes)", self.name)
        return bytes(value)


class _Relational(Field):
    relational = True
    _slots = {"comodel_name": None, "domain": (), "context": None}

    def describe(self):
        return {**super().describe(), "relation": self.comodel_name}


class Many2one(_Relational):
    type = "many2one"
    _slots = {"ondelete": "set null"}

    def __init__(self, comodel_name=None, string=None, **kwargs):
        if comodel_name is not None:
            kwargs["comodel_name"] = comodel_name
        super().__init__(string, **kwargs)
        if self.ondelete not in ("set null", "cascade", "restrict"):
            raise TypeError(
                f"Many2one ondelete must be set null, cascade or restrict: {self.ondelete!r}"
            )

    def copy_for(self, model_name, name, addon=None):
        field = super().copy_for(model_name, name, addon)
        if self.args.get("string") is None and name.endswith("_id"):
            field.string = name[:-3].replace("_", " ").capitalize()
        return field

    def _peewee_field(self):
        # The registry replaces this with a real foreign key once every table exists.
        return peewee.BigIntegerField(null=True)

    def convert_to_cache(self, value, env):
        if value is None or value is False or value == 0:
            return None
        if hasattr(value, "_ids"):
            if len(value._ids) > 1:
                raise ValidationError(
                    f"{self.string}: expected one record, got {len(value._ids)}", self.name
                )
            return value._ids[0] if value._ids else None
        if isinstance(value, list | tuple) and value:
            value = value[0]  # (id, display_name) as read() returns it
        if isinstance(value, bool) or not isinstance(value, int):
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise ValidationError(
                    f"{self.string}: expected a record id, got {value!r}", self.name
                ) from None
        return value

    def convert_to_record(self, value, record):
        comodel = record.env[self.comodel_name]
        if value is None:
            return comodel
        return comodel._browse((value,), record._related_prefetch(self))

    def convert_to_read(self, value, record):
        if value is None:
            return None
        target = record.env[self.comodel_name].browse(value)
        return (value, target._display_name_for_read())

    def describe(self):
        return {**super().describe(), "ondelete": self.ondelete}


class _X2many(_Relational):
    column = False

    def convert_to_record(self, value, record):
        return record.env[self.comodel_name]._browse(tuple(value or ()), None)

    def convert_to_read(self, value, record):
        return list(value or ())


class One2many(_X2many):
    type = "one2many"
    _slots = {"inverse_name": None, "copy": False}

    def __init__(self, comodel_name=None, inverse_name=None, string=None, **kwargs):
        if comodel_name is not None:
            kwargs["comodel_name"] = comodel_name
        if inverse_name is not None:
            kwargs["inverse_name"] = inverse_name
        super().__init__(string, **kwargs)

    def describe(self):
        return {**super().describe(), "relation_field": self.inverse_name}


class Many2many(_X2many):
    type = "many2many"
    _slots = {"relation": None, "column1": None, "column2": None}

    def __init__(self, comodel_name=None, string=None, **kwargs):
        if comodel_name is not None:
            kwargs["comodel_name"] = comodel_name
        super().__init__(string, **kwargs)

    def setup_relation(self):
        """Name the link table and its columns the way Odoo does, unless given."""
        if not self.relation:
            tables = sorted(
                [self.model_name.replace(".", "_"), self.comodel_name.replace(".", "_")]
            )
            self.relation = f"{tables[0]}_{tables[1]}_rel"
        if not self.column1:
            self.column1 = f"{self.model_name.replace('.', '_')}_id"
        if not self.column2:
            self.column2 = f"{self.comodel_name.replace('.', '_')}_id"
            if self.column2 == self.column1:
                self.column2 = f"{self.column2}2"


FIELD_TYPES = MappingProxyType(
    {
        cls.type: cls
        for cls in (
            Char,
            Text,
            Integer,
            Float,
            Monetary,
            Boolean,
            Date,
            Datetime,
            Selection,
            Json,
            Binary,
            Many2one,
            One2many,
            Many2many,
        )
    }
)


class NewId:
    """The id of a record that is being created and has no database id yet."""

    __slots__ = ("ref",)
    _counter = 0

    def __init__(self):
        NewId._counter += 1
        self.ref = NewId._counter

    def __bool__(self):
        return False

    def __repr__(self):
        return f"NewId({self.ref})"
