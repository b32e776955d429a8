"""Web sign-in: the login, logout, password and language pages (who is signed in:
``core.request.identity``)."""

from __future__ import annotations

import logging
import secrets
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from core.exceptions import UserError, ValidationError
from core.request.identity import (
    LANGUAGES,
    MAX_LOGIN,
    MAX_PASSWORD,
    auth_hash,
    gettext,
    load_user,
    login_required,
    secured,
)

bp = Blueprint("web_auth", __name__)
_logger = logging.getLogger(__name__)


def init_app(app):
    """Register the sign-in pages on ``app``."""
    app.register_blueprint(bp)


def _open_session(env, uid: int) -> dict:
    """A new ``res.users.session`` row for this browser; what ``_start_session`` stores."""
    sid, key = env["res.users.session"].session_open(
        uid, request.remote_addr, request.headers.get("User-Agent")
    )
    return {"uid": uid, "auth": auth_hash(env, uid), "sid": sid, "skey": key}


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
    return secured(response)


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
