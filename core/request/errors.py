"""One table from an error to its HTTP status and code, for the web client and the REST API
alike: the same error gives the same status on both (and the same message, translated
where it was raised)."""

from __future__ import annotations

from core.exceptions import (
    AccessError,
    ConflictError,
    DomainError,
    MissingError,
    UserError,
    ValidationError,
)
from core.io.export import ExportError

# The first class that matches wins: subclasses before their parents.
ERROR_STATUS: tuple[tuple[type[Exception], int, str], ...] = (
    (ConflictError, 409, "conflict"),
    (AccessError, 403, "forbidden"),
    (MissingError, 404, "not_found"),
    (DomainError, 400, "bad_request"),
    (ExportError, 400, "bad_request"),
    (ValidationError, 422, "validation_error"),
    (UserError, 422, "user_error"),
)


def error_status(exc: BaseException) -> tuple[int, str] | None:
    """``(status, code)`` of a user-facing error, or None for anything else (a bug: 500)."""
    for cls, status, code in ERROR_STATUS:
        if isinstance(exc, cls):
            return status, code
    return None


def error_fields(exc: BaseException) -> dict | None:
    """``{field: [message]}`` for an error about one field (shown next to it)."""
    field = getattr(exc, "field", None)
    return {field: [str(exc)]} if field else None
