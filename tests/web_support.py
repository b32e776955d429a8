"""The fx_web site both web client test modules start from: an admin and two salesmen."""

from __future__ import annotations

from pathlib import Path

from core.testing import TemplateAddonManager
from core.testing import signed_in as signed_in_as

FIXTURE_ADDONS = Path(__file__).resolve().parent / "fixtures" / "addons"
PASSWORD = "secret-pass-1"


def fx_web_site(make_config):
    """``(config, registry)``: a fresh database of this run's kind with fx_web installed."""
    config = make_config(paths=[FIXTURE_ADDONS])
    registry = TemplateAddonManager(config).install(["fx_web"])
    return config, registry


def add_salesmen(env) -> dict:
    """``{login: id}`` for Anna and Boris, who see their own deals; the admin's password set."""
    env.ref("base.user_admin").set_password(PASSWORD)
    own = env.ref("fx_web.group_own").id
    users = {}
    for login in ("anna", "boris"):
        user = env["res.users"].create(
            {"name": login.title(), "login": login, "groups_id": [(6, 0, [own])]}
        )
        user.set_password(PASSWORD)
        users[login] = user.id
    return users


def signed_in(app, login, password=PASSWORD):
    """A test client of ``app`` signed in as ``login``; ``client.token`` is its CSRF token."""
    return signed_in_as(app, login, password)
