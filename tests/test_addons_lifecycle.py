"""Addons: extension, install, uninstall, upgrade with migrations, discovery and errors."""

from __future__ import annotations

import re
import shutil
import sys

import pytest
from lifecycle_support import (
    FIXTURE_ADDONS,
    MIGRATION_FAILS,
    MIGRATION_OK,
    bumped_fx_migrate,
    dump,
    rows,
    sqlite_path,
)

from core.exceptions import AddonError
from core.http.app import create_app
from core.modules.discovery import BASE_VERSION, discover
from core.modules.loading import load_registry
from core.modules.manager import AddonManager


def columns(registry, table):
    return {c.name for c in registry.db.get_columns(table)}


def module_rows(url):
    return dict(
        rows(url, "SELECT name, latest_version FROM ir_module_module WHERE state = 'installed'")
    )


# -- extension by another addon ---------------------------------------------------------------------


def test_extension_adds_columns_and_stacks_methods_in_dependency_order(install):
    registry = install("fx_extend_more")
    assert {"note", "owner_id", "priority"} <= columns(registry, "fx_item")
    tables = set(registry.db.get_tables())
    assert {"fx_item", "fx_category", "fx_tag", "fx_item_fx_tag_rel"} <= tables

    env = registry.env(su=True)
    item = env["fx.item"].create(
        {
            "name": "Saw",
            "qty": 3,
            "price": 2.5,
            "note": "sharp",
            "priority": 2,
            "owner_id": env.ref("base.user_admin").id,
            "tag_ids": [(6, 0, env.ref("fx_extend.tag_red").ids)],
        }
    )
    assert item.describe() == ["fx_base", "fx_extend", "fx_extend_more"]
    assert item.total == 7.5  # fx_base's stored compute still works on the composed model
    item.action_done()
    assert item.read(["state", "note", "priority", "tag_ids"])[0] == {
        "id": item.id,
        "state": "done",
        "note": "sharp",
        "priority": 2,
        "tag_ids": env.ref("fx_extend.tag_red").ids,
    }
    sql = f"SELECT total, note, priority FROM fx_item WHERE id = {registry.db.param}"
    stored = rows(registry.config.database_url, sql, (item.id,))
    assert stored == [(7.5, "sharp", 2)]

    # fx_extend's data file wrote a row of fx_base's model, with fields of both addons.
    tagged = env.ref("fx_extend.item_tagged")
    assert tagged.category_id == env.ref("fx_base.cat_tools")
    assert tagged.note == "from fx_extend"
    assert tagged.owner_id == env.ref("base.user_admin")
    assert tagged.tag_ids.mapped("name") == ["Red"]


def test_uninstall_removes_only_what_the_addon_added(install, manager, config):
    url = config.database_url
    install("fx_base")
    before = dump(url)

    registry = install("fx_extend")
    with registry.transaction() as env:
        env.ref("fx_base.item_hammer").write(
            {"note": "user note", "tag_ids": [(4, env.ref("fx_extend.tag_red").id)]}
        )
        mine = env["fx.item"].create(
            {"name": "Mine", "note": "x", "category_id": env.ref("fx_base.cat_tools").id}
        )
        mine_id = mine.id
    assert "note" in columns(registry, "fx_item")

    assert manager.plan_uninstall(["fx_extend"]) == ["fx_extend"]
    after_registry = manager.uninstall(["fx_extend"])
    after = dump(url)

    # The schema is exactly what it was before fx_extend came.
    assert {t: d["columns"] for t, d in after.items()} == {
        t: d["columns"] for t, d in before.items()
    }
    assert {t: d["indexes"] for t, d in after.items()} == {
        t: d["indexes"] for t, d in before.items()
    }
    assert "fx_tag" not in after_registry.db.get_tables()
    assert "fx_item_fx_tag_rel" not in after_registry.db.get_tables()
    assert "note" not in columns(after_registry, "fx_item")

    # Its data rows are gone (item_tagged and the tag); every other row is as before.
    for table in before:
        if table in ("ir_module_module", "ir_config_parameter", "fx_item"):
            continue
        assert after[table]["rows"] == before[table]["rows"], table
    # The test itself wrote to Hammer, so its write_date may differ by a second tick.
    stamp = after["fx_item"]["columns"].index("write_date")

    def unstamped(table_rows):
        return [r[:stamp] + r[stamp + 1 :] for r in table_rows]

    before_items, after_items = (
        unstamped(before["fx_item"]["rows"]),
        unstamped(after["fx_item"]["rows"]),
    )
    added = [r for r in after_items if r not in before_items]
    assert [r[0] for r in added] == [mine_id]  # the user's own record stays
    assert all(r in after_items for r in before_items)
    assert module_rows(url) == {"base": BASE_VERSION, "fx_base": "1.0"}

    env = after_registry.env(su=True)
    assert "fx.tag" not in after_registry.models
    assert "note" not in env["fx.item"]._fields
    assert env.ref("fx_base.item_hammer").name == "Hammer"
    assert env.ref("fx_extend.tag_red", raise_if_not_found=False) is None
    assert env["fx.item"].browse(mine_id).describe() == ["fx_base"]

    # Installing it again works from a clean slate.
    again = manager.install(["fx_extend"])
    env = again.env(su=True)
    assert env.ref("fx_extend.item_tagged").tag_ids.mapped("name") == ["Red"]
    assert env.ref("fx_base.item_hammer").note is None


def test_uninstall_takes_dependents_along(install, manager, config):
    install("fx_extend_more")
    assert manager.plan_uninstall(["fx_base"]) == ["fx_extend_more", "fx_extend", "fx_base"]
    with pytest.raises(AddonError, match="'base' cannot be uninstalled"):
        manager.plan_uninstall(["base"])
    with pytest.raises(AddonError, match="'fx_migrate' is not installed"):
        manager.plan_uninstall(["fx_migrate"])
    registry = manager.uninstall(["fx_base"])
    assert module_rows(config.database_url) == {"base": BASE_VERSION}
    tables = set(registry.db.get_tables())
    assert not {t for t in tables if t.startswith("fx_")}
    assert registry.env(su=True)["ir.model.data"].search_count([("module", "like", "fx_%")]) == 0


# -- an addon's own install and uninstall steps (manifest: after_install, before_uninstall) ------------


def param(registry, key):
    return registry.env(su=True)["ir.config_parameter"].get_param(key)


def test_after_install_runs_once_on_its_own_install_and_not_on_another(install):
    registry = install("fx_lifecycle")
    assert param(registry, "fx_lifecycle.after_install") == "1"
    # It ran after the addon's data was loaded.
    assert param(registry, "fx_lifecycle.after_install_saw") == "notes=1 item=yes"

    registry = install("fx_extend")  # another addon, on the same database
    assert "fx_extend" in registry.addon_names
    assert param(registry, "fx_lifecycle.after_install") == "1"


def test_before_uninstall_runs_before_the_uninstall_removes_the_addons_data(install, manager):
    install("fx_lifecycle")
    registry = manager.uninstall(["fx_lifecycle"])
    assert param(registry, "fx_lifecycle.before_uninstall_saw") == "notes=1 item=yes"
    assert "fx_life_note" not in registry.db.get_tables()
    env = registry.env(su=True)
    assert env.ref("fx_lifecycle.item_lifecycle", raise_if_not_found=False) is None
    assert env["fx.item"].search_count([("name", "=", "Item of fx_lifecycle")]) == 0


def test_before_uninstall_of_an_addon_does_not_run_when_another_is_uninstalled(install, manager):
    install("fx_lifecycle", "fx_extend")
    registry = manager.uninstall(["fx_extend"])
    assert param(registry, "fx_lifecycle.before_uninstall_saw") is None
    assert "fx_lifecycle" in registry.addon_names


def lifecycle_copy(folder, **manifest):
    """fx_lifecycle copied to ``folder`` with manifest keys replaced."""
    target = folder / "fx_lifecycle"
    shutil.copytree(FIXTURE_ADDONS / "fx_lifecycle", target)
    text = (target / "manifest.toml").read_text()
    for key, value in manifest.items():
        text = re.sub(rf"^{key} = .*$", f"{key} = {value!r}".replace("'", '"'), text, flags=re.M)
    (target / "manifest.toml").write_text(text)
    return folder


def test_a_manifest_naming_a_missing_function_is_refused_before_anything_is_written(
    make_config, tmp_path
):
    paths = [lifecycle_copy(tmp_path, after_install="no_such_function"), FIXTURE_ADDONS]
    manager = AddonManager(make_config(paths=paths))
    manager.install([])  # base
    with pytest.raises(AddonError) as caught:
        manager.install(["fx_lifecycle"])
    message = str(caught.value)
    assert "addon 'fx_lifecycle'" in message
    assert "'after_install' names 'no_such_function'" in message
    assert "fx_lifecycle" not in manager.installed()
    assert "fx_base" not in manager.installed()
    manager.db.close()


def test_a_lifecycle_entry_that_is_not_a_name_is_a_manifest_error(tmp_path):
    lifecycle_copy(tmp_path, before_uninstall="module.function()")
    info = discover([tmp_path])["fx_lifecycle"]
    assert "'before_uninstall' must name a function of the addon's package" in info.error


# -- upgrades ----------------------------------------------------------------------------------------


def test_upgrade_runs_migration_reloads_data_and_keeps_noupdate_edits(
    install, make_config, config, tmp_path
):
    url = config.database_url
    registry = install("fx_migrate")
    with registry.transaction() as env:
        env["ir.model.fields"].create(
            {"model": "fx.thing", "name": "x_level", "field_description": "Level", "ttype": "char"}
        )
    with registry.transaction() as env:
        env.ref("fx_migrate.thing_alpha").write({"name": "edited alpha", "x_level": "high"})
        env.ref("fx_migrate.thing_kept").name = "edited by the user"
        gamma_id = env.ref("fx_migrate.thing_gamma").id
    assert "extra" not in columns(registry, "fx_thing")

    paths = [bumped_fx_migrate(tmp_path / "v11", MIGRATION_OK), FIXTURE_ADDONS]
    manager = AddonManager(make_config(paths=paths, url=url))
    assert [a.name for a in manager.plan_upgrade()] == ["fx_migrate"]
    upgraded = manager.upgrade()

    assert {"extra"} <= columns(upgraded, "fx_thing")
    assert "fx_thing_log" in upgraded.db.get_tables()
    env = upgraded.env(su=True)
    alpha = env.ref("fx_migrate.thing_alpha")
    assert alpha.name == "Alpha v2"  # data re-applied over the user's edit
    assert alpha.code == "a"  # the data file wins over pre_migrate's change as well
    assert (
        alpha.extra == "migrated from 1.0: A"
    )  # migrate() ran after pre_migrate(), on new columns
    assert env.ref("fx_migrate.thing_kept").name == "edited by the user"  # noupdate
    assert env.ref("fx_migrate.thing_beta").name == "Beta"
    assert not env["fx.thing"].browse(gamma_id).exists()  # gone from the data file: deleted
    assert env.ref("fx_migrate.thing_gamma", raise_if_not_found=False) is None
    assert env["fx.thing.log"].search_count([]) == 2
    assert alpha.x_level == "high"  # an administrator's custom field survives the upgrade
    assert module_rows(url)["fx_migrate"] == "1.1"
    assert manager.plan_upgrade() == []


def test_failing_migration_leaves_database_exactly_as_it_was(
    install, make_config, config, tmp_path
):
    url = config.database_url
    install("fx_migrate")
    before = dump(url)

    failing = [bumped_fx_migrate(tmp_path / "bad", MIGRATION_FAILS), FIXTURE_ADDONS]
    manager = AddonManager(make_config(paths=failing, url=url))
    with pytest.raises(AddonError) as caught:
        manager.upgrade(["fx_migrate"])
    message = str(caught.value)
    assert "fx_migrate" in message
    assert "1.1.py" in message
    assert "thing codes cannot be converted" in message
    assert "\n" not in message
    manager.db.close()

    assert dump(url) == before
    assert module_rows(url)["fx_migrate"] == "1.0"

    # A corrected release upgrades the same database afterwards.
    fixed = [bumped_fx_migrate(tmp_path / "good", MIGRATION_OK), FIXTURE_ADDONS]
    upgraded = AddonManager(make_config(paths=fixed, url=url)).upgrade(["fx_migrate"])
    assert upgraded.env(su=True).ref("fx_migrate.thing_alpha").extra == "migrated from 1.0: A"
    assert module_rows(url)["fx_migrate"] == "1.1"


def test_older_version_on_disk_is_refused(install, make_config, config, tmp_path):
    install("fx_migrate")
    old = bumped_fx_migrate(tmp_path / "old", MIGRATION_OK, version="0.9")
    manager = AddonManager(make_config(paths=[old, FIXTURE_ADDONS], url=config.database_url))
    with pytest.raises(AddonError, match="older than installed 1.0"):
        manager.plan_upgrade(["fx_migrate"])


# -- broken addons are refused before anything is written ----------------------------------------------

BROKEN = {
    "fx_missing_dep": "depends on 'fx_nowhere', which is not found",
    "fx_cycle_a": "dependency cycle fx_cycle_a -> fx_cycle_b -> fx_cycle_a",
    "fx_bad_manifest": "'version' must be a str",
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_addon_on_new_database_writes_nothing(make_config, name):
    config = make_config()
    manager = AddonManager(config)
    with pytest.raises(AddonError) as caught:
        manager.install([name])
    message = str(caught.value)
    assert BROKEN[name] in message
    assert f"addon '{name}'" in message
    assert str(FIXTURE_ADDONS / name / "manifest.toml") in message
    manager.db.close()
    path = sqlite_path(config.database_url)
    if path is not None:
        assert not path.exists()
    else:
        assert dump(config.database_url) == {}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_addon_on_existing_database_changes_nothing(install, manager, config, name):
    install("fx_base")
    before = dump(config.database_url)
    with pytest.raises(AddonError, match=BROKEN[name].replace("(", r"\(")):
        manager.install(["fx_extend", name])
    assert dump(config.database_url) == before


def test_broken_addons_on_disk_do_not_disturb_others(install):
    # fx_missing_dep, the cycle and the bad manifest sit in the same folder.
    registry = install("fx_extend")
    assert {"fx_base", "fx_extend"} <= set(registry.addon_names)
    infos = discover([FIXTURE_ADDONS])
    assert infos["fx_bad_manifest"].error
    assert infos["fx_cycle_a"].error is None  # a cycle is only found when the addon is involved


# -- what is installed is what contributes -------------------------------------------------------------


def test_addon_on_disk_but_not_installed_contributes_nothing(install, manager):
    registry = install()  # base only
    database = registry.db.database
    assert "fx_base" in manager.addons  # found on disk
    assert "fx.item" not in registry.models
    assert "fx_item" not in registry.db.get_tables()
    assert registry.pm.get_plugin("fx_base") is None
    fx_base = manager.addons["fx_base"].import_module()
    assert not [c for c in fx_base.CALLS if c == ("registry_built", database)]

    registry = install("fx_base")
    assert ("registry_built", database) in fx_base.CALLS
    assert ("addon_installed", "fx_base") in fx_base.CALLS
    # fx_extend is on disk too, but does not touch fx.item while it is not installed.
    assert "note" not in registry.models["fx.item"]._fields
    assert "fx.tag" not in registry.models
    assert registry.env(su=True)["fx.item"].browse(1).describe() == ["fx_base"]


ENTRY_INIT = """
from core import fields
from core import Model
from core.plugins import hookimpl


class Note(Model):
    _name = "fx.entry.note"
    _description = "Note from a pip-installed addon"

    name = fields.Char("Name", required=True)


class ItemEntry(Model):
    _inherit = "fx.item"

    entry_code = fields.Char("Entry code")

    def describe(self):
        return super().describe() + ["fx_entry"]


@hookimpl
def register_models():
    return [Note, ItemEntry]
"""


def test_entry_point_addon_is_discovered_and_installable(tmp_path, monkeypatch, make_config):
    site = tmp_path / "site"
    package = site / "kontora_fx_entry"
    (package / "data").mkdir(parents=True)
    (package / "__init__.py").write_text(ENTRY_INIT)
    (package / "manifest.toml").write_text(
        'name = "fx_entry"\nversion = "2.0"\nsummary = "Installed with pip"\n'
        'depends = ["fx_base"]\ndata = ["data/notes.toml"]\n'
    )
    (package / "data" / "notes.toml").write_text(
        '[[records]]\nmodel = "fx.entry.note"\nid = "note_one"\nvalues = { name = "One" }\n'
    )
    dist = site / "kontora_fx_entry-2.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: kontora-fx-entry\nVersion: 2.0\n")
    (dist / "entry_points.txt").write_text("[kontora.addons]\nfx_entry = kontora_fx_entry\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(sys.modules, "kontora_fx_entry", raising=False)

    config = make_config()
    manager = AddonManager(config)
    info = manager.addons["fx_entry"]
    assert info.source == "entry point"
    assert info.version == "2.0"
    assert info.manifest_path == package / "manifest.toml"
    registry = manager.install(["fx_entry"])
    env = registry.env(su=True)
    assert env.ref("fx_entry.note_one").name == "One"
    assert "entry_code" in columns(registry, "fx_item")
    assert env.ref("fx_base.item_hammer").describe() == ["fx_base", "fx_entry"]
    assert module_rows(config.database_url)["fx_entry"] == "2.0"
    listing = {r["name"]: r for r in manager.listing()}
    assert listing["fx_entry"]["state"] == "installed"
    assert listing["fx_entry"]["source"] == "entry point"
    manager.uninstall(["fx_entry"])
    assert "fx_entry_note" not in manager.db.get_tables()


# -- other processes see changes -----------------------------------------------------------------------


def test_second_registry_sees_installed_addons_after_reload(install, manager, config):
    install()
    other = load_registry(config)  # what another worker process holds
    try:
        assert "fx.item" not in other.models
        assert other.reload_if_changed() is False
        manager.install(["fx_base"])
        assert other.reload_if_changed() is True
        assert "fx.item" in other.models
        assert other.env(su=True)["fx.item"].search_count([]) == 2
        assert other.reload_if_changed() is False
        manager.uninstall(["fx_base"])
        assert other.reload_if_changed() is True
        assert "fx.item" not in other.models
    finally:
        other.db.close()


def test_web_app_lists_installed_addons_and_follows_changes(install, manager, config):
    registry = install("fx_base")
    with registry.transaction() as env:
        env.ref("base.user_admin").set_password("admin-password")
    app = create_app(config)
    client = app.test_client()
    with client.session_transaction() as session:
        session["csrf_token"] = "token"
    signed_in = client.post(
        "/web/login", data={"login": "admin", "password": "admin-password", "csrf_token": "token"}
    )
    assert signed_in.status_code == 302
    page = client.get("/web/settings/addons")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "fx_base" in html and "Test fixture: declares fx.item and fx.category" in html
    assert "<td>fx_extend</td><td>uninstalled</td>" in html
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.get_json()["status"] == "ok"
    version = health.get_json()["registry_version"]

    manager.install(["fx_extend"])  # as `kontora addons install` would, from another process
    assert "<td>fx_extend</td><td>installed</td>" in client.get("/web/settings/addons").text
    assert client.get("/healthz").get_json()["registry_version"] > version
