"""Settings pages: addons (install, uninstall with its dependents), copying rights, API keys."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.http.app import create_app
from core.modules.manager import AddonManager

FIXTURE_ADDONS = Path(__file__).resolve().parent / "fixtures" / "addons"

PASSWORD = "secret-pass-1"


@pytest.fixture
def site(make_config):
    config = make_config(paths=[FIXTURE_ADDONS])
    registry = AddonManager(config).install(["fx_web"])
    with registry.transaction() as env:
        env.ref("base.user_admin").set_password(PASSWORD)
        own = env.ref("fx_web.group_own").id
        for login, groups in (("anna", [own]), ("boris", [env.ref("base.group_user").id])):
            user = env["res.users"].create(
                {"name": login.title(), "login": login, "groups_id": [(6, 0, groups)]}
            )
            user.set_password(PASSWORD)
    return create_app(config), registry, config


def signed_in(app, login):
    client = app.test_client()
    with client.session_transaction() as session:
        session["csrf_token"] = "t"
    client.post("/web/login", data={"login": login, "password": PASSWORD, "csrf_token": "t"})
    with client.session_transaction() as session:
        client.token = session["csrf_token"]
    return client


def test_admin_installs_and_uninstalls_an_addon_with_its_dependents(site):
    app, _registry, config = site
    admin = signed_in(app, "admin")
    page = admin.get("/web/settings/addons").text
    assert "<td>fx_extend</td><td>uninstalled</td>" in page
    done = admin.post(
        "/web/settings/addons/fx_extend_more/install", data={"csrf_token": admin.token}
    )
    assert done.status_code == 302
    page = admin.get("/web/settings/addons").text
    assert "<td>fx_extend_more</td><td>installed</td>" in page
    assert "<td>fx_extend</td><td>installed</td>" in page  # pulled in as a dependency
    asked = admin.post("/web/settings/addons/fx_extend/uninstall", data={"csrf_token": admin.token})
    assert asked.status_code == 200
    assert re.search(r"<li>fx_extend_more</li>", asked.text)  # listed before anything happens
    assert "fx_extend_more" in AddonManager(config).installed()
    admin.post(
        "/web/settings/addons/fx_extend/uninstall",
        data={"csrf_token": admin.token, "confirm": "1"},
    )
    assert not {"fx_extend", "fx_extend_more"} & AddonManager(config).installed()


def test_only_administrators_manage_addons_and_copy_rights(site):
    app, _registry, config = site
    anna = signed_in(app, "anna")
    assert anna.get("/web/settings/addons").status_code == 403
    refused = anna.post("/web/settings/addons/fx_extend/install", data={"csrf_token": anna.token})
    assert refused.status_code == 403
    assert "fx_extend" not in AddonManager(config).installed()
    assert anna.get("/web/settings/copy-rights").status_code == 403
    assert "/web/settings/addons" not in anna.get("/").text  # no menu for what she cannot do


def test_copy_rights_gives_the_target_the_same_groups(site):
    app, registry, _config = site
    admin = signed_in(app, "admin")
    with registry.transaction(write=False) as env:
        users = env["res.users"].sudo()
        anna, boris = (
            users.search([("login", "=", "anna")]),
            users.search([("login", "=", "boris")]),
        )
        ids = anna.id, boris.id
    response = admin.post(
        "/web/settings/copy-rights",
        data={"csrf_token": admin.token, "source": ids[0], "target": ids[1]},
    )
    assert response.status_code == 302
    with registry.transaction(write=False) as env:
        users = env["res.users"].sudo()
        assert set(users.browse(ids[1]).groups_id.ids) == set(users.browse(ids[0]).groups_id.ids)
    boris = signed_in(app, "boris")
    assert boris.get("/web/fxw.deal?view=list").status_code == 200


def test_user_creates_an_api_key_shown_once_and_revokes_it(site):
    app, _registry, _config = site
    anna = signed_in(app, "anna")
    created = anna.post("/web/settings/api-keys", data={"csrf_token": anna.token, "name": "CI"})
    secret = re.search(r"<code>(kt_[0-9a-f]{8}_[\w-]+)</code>", created.text).group(1)
    api = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    assert api.get("/api/v1/fxw.deal?limit=1", headers=headers).status_code == 200
    listing = anna.get("/web/settings/api-keys").text
    assert secret not in listing and secret[:11] in listing
    key_id = re.search(r'name="revoke" value="(\d+)"', listing).group(1)
    anna.post("/web/settings/api-keys", data={"csrf_token": anna.token, "revoke": key_id})
    assert api.get("/api/v1/fxw.deal?limit=1", headers=headers).status_code == 401
