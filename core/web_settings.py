"""Settings pages for administrators and users: addons, copying rights, one's API keys.

Everything else in Settings (users, groups, access rights, record rules, custom fields,
companies, dictionaries, webhooks) is an ordinary model shown by the generic list and form.
"""

from __future__ import annotations

import datetime

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for

from .exceptions import AddonError, KontoraError
from .modules import AddonManager
from .web import PageError, _common, page
from .web_auth import gettext as _

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


def init_app(app):
    app.register_blueprint(bp)
