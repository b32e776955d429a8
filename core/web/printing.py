"""Printing from the web client: ``/report/<name>/<ids>.pdf`` renders a report of
``core.reporting.reports`` for the signed-in user."""

from __future__ import annotations

from flask import Blueprint, Response, g, request, session

from core.exceptions import AccessError, MissingError
from core.reporting.reports import ReportError, find_report, parse_ids, pdf_response, render_pdf
from core.request.identity import session_uid

# -- the route --------------------------------------------------------------------------------------
bp = Blueprint("reports", __name__)


@bp.route("/report/<name>/<ids>.pdf", methods=["GET"])
def web_report(name, ids):
    """The PDF for the signed-in user: 403 without read rights, 404 for records outside
    the rules or unknown ones, 400 for malformed ids; never a traceback. The answer to a
    person is a short sentence in his language (the API gives the details)."""
    registry = g.registry
    uid = session_uid()
    if uid is None:
        return _text_error(registry, session.get("lang"), 401, "Sign in to print reports")
    lang = None
    try:
        with registry.transaction(uid=uid, write=False) as env:
            lang = env.user.lang or "en"
            env = env.with_context(lang=lang)
            report, model_name = find_report(env, name, request.args.get("model"))
            pdf = render_pdf(env, report, model_name, parse_ids(ids))
    except AccessError:
        return _text_error(registry, lang, 403, "You may not read these records")
    except MissingError:
        message = "This report or these records do not exist, or you may not see them"
        return _text_error(registry, lang, 404, message)
    except ReportError:
        return _text_error(registry, lang, 400, "This report link is not valid")
    return pdf_response(pdf, report, model_name)


def _text_error(registry, lang, status, message) -> Response:
    text = registry.translate(message, lang)
    return Response(text + "\n", status=status, mimetype="text/plain")


def init_app(app):
    app.register_blueprint(bp)
