"""Web sign-in: the login, logout and password pages, the session's user and CSRF checks.

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
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from .exceptions import UserError, ValidationError
from .i18n import translate
from .models import utcnow

bp = Blueprint("web_auth", __name__)
_logger = logging.getLogger(__name__)

# The languages of the interface; the same keys as the selection of ``res.users.lang``.
LANGUAGES = {"en": "English", "ru": "Русский"}
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The REST API checks its own requests: Bearer tokens need no CSRF token, and its cookie
# sessions compare ``session["csrf_token"]`` there.
CSRF_EXEMPT_PREFIXES = ("/api/",)
# Longer input is refused without hashing it, so nobody can make the server hash megabytes.
MAX_LOGIN, MAX_PASSWORD = 256, 1024


def init_app(app):
    """Register the sign-in pages, the CSRF check and the template helpers on ``app``."""
    app.jinja_env.globals.update(
        _=gettext, csrf_token=csrf_token, current_lang=current_lang, languages=LANGUAGES
    )
    app.before_request(_remember_lang)
    app.before_request(_check_csrf)
    app.register_blueprint(bp)


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
    abort(_secured(make_response(page, 400)))


def csrf_exempt(blueprint):
    """Leave a blueprint's requests to its own CSRF handling (e.g. token-authenticated APIs)."""
    blueprint.kontora_csrf_exempt = True
    return blueprint


def _check_csrf():
    if request.path.startswith(CSRF_EXEMPT_PREFIXES):
        return
    blueprint = current_app.blueprints.get(request.blueprint or "")
    if getattr(blueprint, "kontora_csrf_exempt", False):
        return
    csrf_protect()


# -- the session's user -------------------------------------------------------------------------------


def _auth_hash(env, uid: int) -> str:
    """Ties a session to the password it was opened with: a new password ends other sessions."""
    credential = env["res.users.credential"].sudo().search([("user_id", "=", uid)], limit=1)
    return _auth_of(uid, credential.password_hash if credential else "")


def _auth_of(uid: int, password_hash: str) -> str:
    material = f"{uid}:{password_hash or ''}"
    key = str(current_app.secret_key).encode()
    return hmac.new(key, material.encode(), hashlib.sha256).hexdigest()


def _idle_limit():
    from .base.sessions import idle_limit

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
    from .base.security import record_use

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


def _open_session(env, uid: int) -> dict:
    """A new ``res.users.session`` row for this browser; what ``_start_session`` stores."""
    sid, key = env["res.users.session"].session_open(
        uid, request.remote_addr, request.headers.get("User-Agent")
    )
    return {"uid": uid, "auth": _auth_hash(env, uid), "sid": sid, "skey": key}


def _start_session(opened: dict):
    """A fresh cookie session for the user (nothing of the anonymous one survives: no
    fixation)."""
    session.clear()
    session.update(opened)
    session["csrf_token"] = secrets.token_urlsafe(32)


def _safe_next(target) -> str:
    """Only a path on this site; anything else (``//evil.example``, ``https://...``) is ``/``."""
    if not isinstance(target, str) or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return "/"
    parts = urlsplit(target)
    return "/" if parts.scheme or parts.netloc else target


# -- pages ----------------------------------------------------------------------------------------------


@bp.after_request
def _no_store(response):
    return _secured(response)


def _secured(response):
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


def _page(template, status=200, **values):
    return make_response(render_template(template, **values), status)


def _throttled(template, wait, **values):
    error = gettext(
        "Too many failed sign-in attempts. Try again in %(seconds)s seconds.", seconds=wait
    )
    response = _page(template, 429, error=error, **values)
    response.headers["Retry-After"] = str(wait)
    return response


@bp.route("/web/login", methods=["GET", "POST"])
def login():
    """The sign-in form; a right login and password open a new session."""
    target = _safe_next(request.values.get("next"))
    if request.method == "GET":
        if load_user() is not None:
            return redirect(target)
        return _page("auth/login.html", next=target, login="")
    login_name = request.form.get("login", "").strip()
    password = request.form.get("password", "")
    values = {"next": target, "login": login_name[:MAX_LOGIN]}
    uid = None
    if login_name and password and len(login_name) <= MAX_LOGIN and len(password) <= MAX_PASSWORD:
        try:
            with g.registry.transaction() as env:
                uid = env["res.users"].authenticate(login_name, password, request.remote_addr)
                opened = _open_session(env, uid) if uid else None
        except UserError as exc:
            wait = getattr(exc, "wait_seconds", None)
            if wait is None:
                raise
            _logger.info("sign-in throttled for %r from %s", login_name, request.remote_addr)
            return _throttled("auth/login.html", wait, **values)
    if uid is None:
        _logger.info("sign-in refused for %r from %s", login_name, request.remote_addr)
        error = gettext("Wrong login or password.")
        return _page("auth/login.html", 401, error=error, **values)
    _start_session(opened)
    _logger.info("user %s signed in from %s", uid, request.remote_addr)
    return redirect(target)


@bp.route("/web/logout", methods=["POST"])
def logout():
    """End the session, here and in the database, so a copied cookie stops working too (the
    CSRF check keeps other sites from signing people out)."""
    uid, sid, key = session.get("uid"), session.get("sid"), session.get("skey")
    if isinstance(uid, int) and isinstance(sid, int):
        with g.registry.transaction() as env:
            env["res.users.session"].session_close(sid, uid, key)
        _logger.info("user %s signed out (session %s)", uid, sid)
    session.clear()
    g.pop("user", None)
    return redirect(url_for("web_auth.login"))


@bp.route("/web/password", methods=["GET", "POST"])
@login_required
def password():
    """The signed-in user changes their own password (the current one is checked, throttled)."""
    if request.method == "GET":
        return _page("auth/password.html")
    current = request.form.get("current_password", "")
    new = request.form.get("new_password", "")
    if new != request.form.get("confirm_password", ""):
        return _page("auth/password.html", 400, error=gettext("The new passwords do not match."))
    if not current or len(current) > MAX_PASSWORD or len(new) > MAX_PASSWORD:
        return _page("auth/password.html", 400, error=gettext("The current password is wrong"))
    try:
        with g.registry.transaction() as env:
            user = env["res.users"].sudo().browse(g.user["id"])
            uid = env["res.users"].authenticate(user.login, current, request.remote_addr)
            if uid == user.id:
                user.set_password(new)  # ends every session of the user, this one too
                opened = _open_session(env, uid)
    except ValidationError as exc:
        return _page("auth/password.html", 400, error=gettext(str(exc)))
    except UserError as exc:
        wait = getattr(exc, "wait_seconds", None)
        if wait is None:
            raise
        return _throttled("auth/password.html", wait)
    if uid != g.user["id"]:
        return _page("auth/password.html", 400, error=gettext("The current password is wrong"))
    _start_session(opened)  # a new session here; the others ended with the old password
    flash(gettext("Your password has been changed."))
    _logger.info("user %s changed their password", uid)
    return redirect(url_for("web.home"))


@bp.route("/web/lang", methods=["POST"])
@login_required
def set_lang():
    """The signed-in user chooses the language of the interface (``res.users.lang``)."""
    lang = request.form.get("lang")
    if lang not in LANGUAGES:
        abort(400)
    with g.registry.transaction() as env:
        env["res.users"].sudo().browse(g.user["id"]).write({"lang": lang})
    return redirect(_safe_next(request.form.get("next")))
