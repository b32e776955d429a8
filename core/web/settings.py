"""Settings pages for administrators and users: addons, copying rights, one's API keys,
one's web sessions (see where one is signed in, sign out the others).

Everything else in Settings (users, groups, access rights, record rules, custom fields,
companies, dictionaries, webhooks) is an ordinary model shown by the generic list and form.
"""

from __future__ import annotations

import datetime

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for

from core.base.sessions import idle_limit
from core.exceptions import AddonError, KontoraError
from core.formatting import format_datetime
from core.modules.manager import AddonManager
from core.orm.support import utcnow
from core.request.identity import current_lang, current_session_id
from core.request.identity import gettext as _
from core.web.pages import PageError, _common, page

bp = Blueprint("web_settings", __name__)


def _require_admin(env):
    if not env.user.has_group("base.group_system"):
        raise PageError(403, _("Only administrators may do this."))


@bp.route("/web/settings/addons")
@page
def addons(env):
    """Every addon on disk: state, versions, what depends on it."""
    _require_admin(env)
    infos = g.registry.all_addons
    rows = env["ir.module.module"].search([]).read(["name", "state", "latest_version"])
    state = {r["name"]: r for r in rows}
    listing = []
    for name, info in sorted(infos.items()):
        row = state.get(name, {})
        listing.append(
            {
                "name": name,
                "summary": info.summary or "",
                "version": row.get("latest_version") or "",
                "disk_version": info.version or "",
                "state": row.get("state") or "uninstalled",
                "error": info.error,
                "dependents": sorted(o for o, i in infos.items() if name in (i.depends or ())),
            }
        )
    return render_template("web/addons.html", addons=listing, title=_("Addons"), **_common(env))


@bp.route("/web/settings/addons/<name>/<operation>", methods=["POST"])
@page
def addon_operation(env, name, operation):
    """Install, upgrade or uninstall an addon; uninstalling first lists what goes with it."""
    _require_admin(env)
    if operation not in ("install", "upgrade", "uninstall"):
        raise PageError(404, "unknown operation")
    manager = AddonManager(current_app.extensions["kontora"].config)
    try:
        if operation == "uninstall":
            removing = manager.plan_uninstall([name])
            if request.form.get("confirm") != "1":
                return render_template(
                    "web/addon_uninstall.html", name=name, removing=removing, **_common(env)
                )
            manager.uninstall([name])
        elif operation == "install":
            manager.install([name], demo=request.form.get("demo") == "1")
        else:
            manager.upgrade([name])
    except (AddonError, KontoraError) as exc:
        raise PageError(400, str(exc)) from exc
    finally:
        if not manager.db.is_closed():
            manager.db.close()
    flash(_("Done: %(operation)s %(name)s", operation=operation, name=name))
    return redirect(url_for("web_settings.addons"))


@bp.route("/web/settings/copy-rights", methods=["GET", "POST"])
@page(write=True)
def copy_rights(env):
    """Give one user exactly the groups and companies of another."""
    _require_admin(env)
    users = env["res.users"].search([("share", "=", False)])
    if request.method == "POST":
        try:
            source = int(request.form.get("source") or 0)
            target = int(request.form.get("target") or 0)
        except ValueError as exc:
            raise PageError(400, _("Choose both users.")) from exc
        if not source or not target or source == target:
            raise PageError(400, _("Choose two different users."))
        found = env["res.users"].search([("id", "in", [source, target])])
        if len(found) != 2:
            raise PageError(404, _("No such user."))
        env["res.users"].browse(source).copy_rights_to(env["res.users"].browse(target))
        flash(_("Rights copied."))
        return redirect(url_for("web_settings.copy_rights"))
    return render_template(
        "web/copy_rights.html",
        users=users.read(["name", "login"]),
        title=_("Copy rights"),
        **_common(env),
    )


@bp.route("/web/settings/api-keys", methods=["GET", "POST"])
@page(write=True)
def api_keys(env):
    """The signed-in user's API keys: create (the secret is shown once) and revoke."""
    me = env.user
    secret = None
    if request.method == "POST":
        if request.form.get("revoke"):
            try:
                me.api_key_revoke(int(request.form["revoke"]))
            except ValueError as exc:
                raise PageError(400, "bad key id") from exc
            flash(_("The key is revoked."))
            return redirect(url_for("web_settings.api_keys"))
        expires = request.form.get("expires") or None
        expires_at = None
        if expires:
            try:
                expires_at = datetime.datetime.fromisoformat(expires)
            except ValueError as exc:
                raise PageError(400, _("Expiry: use a date like 2027-01-31.")) from exc
        secret = me.api_key_create((request.form.get("name") or "")[:100], expires_at)
    keys = (
        env["res.users.apikey"]
        .sudo()
        .search([("user_id", "=", env.uid)])
        .read(["name", "prefix", "expires_at", "last_used", "create_date"])
    )
    return render_template(
        "web/api_keys.html", keys=keys, secret=secret, title=_("API keys"), **_common(env)
    )


@bp.route("/web/settings/sessions", methods=["GET", "POST"])
@page(write=True)
def sessions(env):
    """Where the signed-in user is signed in; sign out one session or all the others."""
    current = current_session_id()
    Session = env["res.users.session"].sudo()
    mine = [("user_id", "=", env.uid), ("active", "=", True)]
    if request.method == "POST":
        if request.form.get("others") == "1":
            count = env.user.end_sessions(keep=current)
            flash(_("Other sessions signed out: %(count)s.", count=count))
        else:
            try:
                target = int(request.form.get("revoke") or 0)
            except ValueError as exc:
                raise PageError(400, "bad session id") from exc
            found = Session.search([*mine, ("id", "=", target)])
            if not found:
                raise PageError(404, _("No such session."))
            found.action_revoke()
            flash(_("The session is signed out."))
            if target == current:
                return redirect(url_for("web_auth.login"))
        return redirect(url_for("web_settings.sessions"))
    since = utcnow() - idle_limit(g.registry.config)
    rows = Session.search([*mine, ("last_seen", ">=", since)]).read(
        ["create_date", "last_seen", "ip", "user_agent"]
    )
    lang, tz = current_lang(), g.user.get("tz")
    listing = [
        {
            "id": row["id"],
            "created": _when(row["create_date"], lang, tz),
            "last_seen": _when(row["last_seen"], lang, tz),
            "ip": row["ip"] or "",
            "browser": browser_label(row["user_agent"]),
            "user_agent": row["user_agent"] or "",
            "current": row["id"] == current,
        }
        for row in rows
    ]
    listing.sort(key=lambda item: not item["current"])
    return render_template(
        "web/sessions.html", sessions=listing, title=_("My sessions"), **_common(env)
    )


def _when(value, lang, tz) -> str:
    try:
        return format_datetime(value, lang, tz)
    except ValueError:  # an unknown time zone name: UTC
        return format_datetime(value, lang)


_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
    ("curl/", "curl"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)


def browser_label(user_agent) -> str:
    """``Firefox, Linux`` from a User-Agent header; the header itself when not recognised."""
    text = user_agent or ""
    browser = next((name for mark, name in _BROWSERS if mark in text), None)
    system = next((name for mark, name in _SYSTEMS if mark in text), None)
    if browser is None:
        return text[:60] or "?"
    return f"{browser}, {system}" if system else browser


def init_app(app):
    app.register_blueprint(bp)
