"""Who is signed in, for the web client and the REST API alike: the session's user, its
language, CSRF checks and the security headers of signed-in pages.

The session carries two keys other parts of the web layer rely on: ``session["uid"]`` (the
signed-in user) and ``session["csrf_token"]`` (the token every state-changing form sends
back). Use ``session_uid()`` rather than reading ``session["uid"]`` directly: it also checks
the session against the database.

Sessions are server-side (``res.users.session``, see ``core/base/sessions.py``): the signed
cookie holds ``sid`` (the row's id) and ``skey`` (a random secret whose SHA-256 the
database keeps), so signing out, a password change, archiving the user or an
administrator ending the user's sessions makes a copied cookie worthless at once. A
session unused for ``server.session_idle_days`` no longer signs in. ``auth``, an HMAC of
the password hash, still ties the cookie to the password. The check is one query per
request (session, user and password hash together); ``last_seen`` is written at most once
a minute.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import secrets
from types import MappingProxyType

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from core.base.security import record_use
from core.base.sessions import idle_limit
from core.i18n import translate
from core.orm.support import utcnow

_logger = logging.getLogger(__name__)

# The languages of the interface; the same keys as the selection of ``res.users.lang``.
LANGUAGES = MappingProxyType({"en": "English", "ru": "Русский"})
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The REST API checks its own requests: Bearer tokens need no CSRF token, and its cookie
# sessions compare ``session["csrf_token"]`` there.
CSRF_EXEMPT_PREFIXES = ("/api/",)
# Longer input is refused without hashing it, so nobody can make the server hash megabytes.
MAX_LOGIN, MAX_PASSWORD = 256, 1024


def init_app(app):
    """Register the language and CSRF checks and the template helpers on ``app``."""
    app.jinja_env.globals.update(
        _=gettext, csrf_token=csrf_token, current_lang=current_lang, languages=LANGUAGES
    )
    app.before_request(_remember_lang)
    app.before_request(_check_csrf)


# -- language -----------------------------------------------------------------------------------------


def current_lang() -> str:
    """The signed-in user's language; before sign-in ``?lang=``, then Accept-Language."""
    if "lang" in g:
        return g.lang
    user = g.get("user")
    lang = user["lang"] if user else None
    if lang not in LANGUAGES:
        lang = session.get("lang")
    if lang not in LANGUAGES:
        lang = request.accept_languages.best_match(list(LANGUAGES))
    if lang not in LANGUAGES:
        lang = _default_lang()
    g.lang = lang
    return lang


def _default_lang() -> str:
    holder = current_app.extensions.get("kontora")
    lang = holder.config["server.default_lang"] if holder is not None else "en"
    return lang if lang in LANGUAGES else "en"


def gettext(text: str, context: str | None = None, **params) -> str:
    """``text`` in the current language, with ``%(name)s`` placeholders filled in;
    ``context`` picks the catalog entry of that meaning (``msgctxt``) when there is one."""
    result = translate(text, current_lang(), context)
    return result % params if params else result


def _remember_lang():
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        session["lang"] = asked
        g.pop("lang", None)


# -- CSRF ---------------------------------------------------------------------------------------------


def csrf_token() -> str:
    """This session's CSRF token (created on first use); forms send it as ``csrf_token``."""
    token = session.get("csrf_token")
    if not token:
        token = session["csrf_token"] = secrets.token_urlsafe(32)
    return token


def csrf_protect():
    """Refuse (400) a state-changing request without this session's CSRF token.

    The token comes from the form field ``csrf_token`` or the ``X-CSRF-Token`` header.
    Call it at the start of any view or ``before_request`` that needs it.
    """
    if request.method not in UNSAFE_METHODS:
        return
    expected = session.get("csrf_token") or ""
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    if expected and hmac.compare_digest(sent.encode(), expected.encode()):
        return
    _logger.warning("CSRF token missing or wrong: %s %s", request.method, request.path)
    if "registry" in g:
        load_user()  # the page in the signed-in user's language
    page = render_template(
        "auth/error.html",
        title=gettext("Bad request"),
        message=gettext(
            "The form has expired or was not sent from this site. Reload the page and try again."
        ),
    )
    abort(secured(make_response(page, 400)))


def csrf_exempt(view):
    """Declare a view function exempt from the CSRF check, as data on the function::

        @bp.route("/crm/webform/<key>", methods=["POST"])
        @csrf_exempt
        def webform_post(key): ...

    For routes that anonymous pages of other sites post to, or that check their own
    tokens. Only the view is marked (``view.kontora_csrf_exempt``); ``_check_csrf`` reads
    it from the view the request is routed to. Blueprints are not marked: each exempt
    route says so where it is declared."""
    if not callable(view) or isinstance(view, Blueprint):
        raise TypeError("csrf_exempt() marks a view function, not a blueprint")
    view.kontora_csrf_exempt = True
    return view


def csrf_exempted() -> bool:
    """Whether the request's route is exempt: a path under ``CSRF_EXEMPT_PREFIXES`` (the
    REST API checks its own) or a view marked with ``csrf_exempt``."""
    if request.path.startswith(CSRF_EXEMPT_PREFIXES):
        return True
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "kontora_csrf_exempt", False))


def _check_csrf():
    if not csrf_exempted():
        csrf_protect()


# -- the session's user -------------------------------------------------------------------------------


def auth_hash(env, uid: int) -> str:
    """Ties a session to the password it was opened with: a new password ends other sessions."""
    credential = env["res.users.credential"].sudo().search([("user_id", "=", uid)], limit=1)
    return _auth_of(uid, credential.password_hash if credential else "")


def _auth_of(uid: int, password_hash: str) -> str:
    material = f"{uid}:{password_hash or ''}"
    key = str(current_app.secret_key).encode()
    return hmac.new(key, material.encode(), hashlib.sha256).hexdigest()


def _idle_limit():
    return idle_limit(g.registry.config)


def load_user():
    """The session's user as ``g.user`` (id, login, name, lang, tz), or None; a stale session
    (revoked, expired, someone else's, archived user, changed password) ends."""
    if "user" in g:
        return g.user
    g.user = None
    uid, sid, key = session.get("uid"), session.get("sid"), session.get("skey")
    if isinstance(uid, int) and isinstance(sid, int) and isinstance(key, str):
        now = utcnow()
        with g.registry.transaction(write=False) as env:
            found = env["res.users.session"].session_check(sid, uid, key, now - _idle_limit())
        if found and hmac.compare_digest(
            session.get("auth", ""), _auth_of(uid, found["password_hash"])
        ):
            g.user = {name: found[name] for name in ("id", "login", "name", "lang", "tz")}
            _touch_session(sid, now, found["last_seen"])
    if g.user is None and "uid" in session:
        session.clear()
    g.pop("lang", None)
    return g.user


def _touch_session(sid: int, now, last_seen):
    """Store the session's ``last_seen`` at most once a minute (``record_use``)."""
    record_use(g.registry, "res.users.session", "last_seen", sid, last_seen, now, True)


def session_uid() -> int | None:
    """The id of the signed-in user of this request, checked against the database."""
    user = load_user()
    return user["id"] if user else None


def current_session_id() -> int | None:
    """The ``res.users.session`` id of this request's session (after ``load_user``)."""
    sid = session.get("sid")
    return sid if isinstance(sid, int) and load_user() is not None else None


def login_required(view):
    """Redirect to the sign-in page (coming back afterwards) unless someone is signed in."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if load_user() is None:
            here = request.path
            if request.query_string:
                here += "?" + request.query_string.decode("latin-1")
            return redirect(url_for("web_auth.login", next=here))
        return view(*args, **kwargs)

    return wrapped


def secured(response):
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'",
    )
    return response
