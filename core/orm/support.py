"""Small pieces of the ORM that the recordset, the write path, COPY and tracking share:
the magic columns, the clock, batching, required values and integrity errors."""

from __future__ import annotations

import datetime
import sqlite3

import peewee
import psycopg2

from core.exceptions import ValidationError

MAGIC_FIELDS = ("id", "create_date", "create_uid", "write_date", "write_uid")
# ir.config_parameter keys of the versions other processes compare with their own.
REGISTRY_VERSION_KEY = "base.registry_version"
ACCESS_VERSION_KEY = "base.access_version"


def utcnow(precise=False):
    """The current UTC time, naive; to the second unless ``precise`` (write_date keeps the
    microseconds, so that two changes within one second are told apart)."""
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    return now if precise else now.replace(microsecond=0)


def _chunks(items, size):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def check_required_columns(model, names_values: dict):
    for name, values in names_values.items():
        field = model._fields[name]
        if field.required and not field.compute:
            for index, value in enumerate(values):
                if value is None or value == "":
                    # The person's words: the field's label, never its technical name (the
                    # error carries the field and the model for the API and the form).
                    env = model.env
                    label = env.translate(field.string or name)
                    message = (
                        env.translate(
                            "%(field)s is required (record %(number)s)",
                            number=index + 1,
                            field=label,
                        )
                        if len(values) > 1
                        else env.translate("%(field)s is required", field=label)
                    )
                    raise ValidationError(message, name, model._name)


INTEGRITY_ERRORS = (peewee.IntegrityError, sqlite3.IntegrityError, psycopg2.IntegrityError)


def translate_integrity(model):
    """A context manager turning IntegrityError into a readable ValidationError."""
    return _IntegrityGuard(model)


class _IntegrityGuard:
    def __init__(self, model):
        self.model = model

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and issubclass(exc_type, INTEGRITY_ERRORS):
            raise self.model._translate_integrity_error(exc) from None
        return False
