"""One error, one status: the web client's JSON calls and pages and the REST API answer an
error of the same kind with the same status and message."""

from __future__ import annotations

import flask
import pytest

from core.exceptions import (
    AccessError,
    ConflictError,
    DomainError,
    MissingError,
    UserError,
    ValidationError,
)
from core.io.export import ExportError
from core.request.errors import ERROR_STATUS, error_status
from core.rest import routes
from core.web import pages

CASES = [
    (UserError("A lost lead cannot be won"), 422),
    (ValidationError("Name is required", "name"), 422),
    (AccessError("You may not read these records"), 403),
    (MissingError("The record does not exist"), 404),
    (ConflictError("Changed by someone else"), 409),
    (DomainError("unknown field 'x'"), 400),
    (ExportError("cannot export 'a.b'"), 400),
]


@pytest.mark.parametrize(("exc", "status"), CASES, ids=lambda v: type(v).__name__)
def test_the_same_error_has_the_same_status_and_message_in_web_and_api(exc, status):
    app = flask.Flask(__name__)

    @pages.call
    def view(env):
        raise exc

    with app.test_request_context("/x", method="POST"):
        api = routes._error_for(exc)
        flask.g.user = {"id": 2, "lang": "en", "tz": None}
        flask.g.registry = _Registry()
        body, web_status = view()
    assert api.status_code == web_status == status
    assert api.get_json()["error"]["message"] == body.get_json()["error"]["message"] == str(exc)
    assert api.get_json()["error"]["code"] == body.get_json()["error"]["code"]


def test_subclasses_come_before_their_parents():
    for i, (cls, _status, _code) in enumerate(ERROR_STATUS):
        for later, _s, _c in ERROR_STATUS[i + 1 :]:
            assert not issubclass(later, cls), f"{later.__name__} is shadowed by {cls.__name__}"
    assert error_status(ValueError("a bug")) is None


class _Registry:
    """Just enough of a registry for a call that fails before touching the database."""

    class _Transaction:
        def __enter__(self):
            return object()

        def __exit__(self, *exc):
            return False

    def transaction(self, *args, **kwargs):
        return self._Transaction()
