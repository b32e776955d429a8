"""The fx_web site both web client test modules start from: an admin and two salesmen."""

from __future__ import annotations

from pathlib import Path

from core.modules.manager import AddonManager

FIXTURE_ADDONS = Path(__file__).resolve().parent / "fixtures" / "addons"
PASSWORD = "secret-pass-1"


def fx_web_site(make_config):
    """``(config, registry)``: a fresh database of this run's kind with fx_web installed."""
    config = make_config(paths=[FIXTURE_ADDONS])
    registry = AddonManager(config).install(["fx_web"])
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
    client = app.test_client()
    with client.session_transaction() as session:
        session["csrf_token"] = "t"
    response = client.post(
        "/web/login", data={"login": login, "password": password, "csrf_token": "t"}
    )
    assert response.status_code == 302, f"{login} could not sign in"
    with client.session_transaction() as session:
        client.token = session["csrf_token"]
    return client
