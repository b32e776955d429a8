"""Translation catalogs: core and addons merged, a later addon winning, and msgctxt for the
same English with another meaning ("New" on a button against "New" as a stage). Catalogs
belong to a registry: two registries in one process translate with their own addons, and
an uninstalled addon's strings go with it."""

from __future__ import annotations

import threading

from core import i18n
from core.request.identity import gettext
from core.testing.templates import TemplateAddonManager
from core.testing.web import make_app
from tests.conftest import SHIPPED_ADDONS


def _addon_folder(tmp_path):
    folder = tmp_path / "i18n"
    folder.mkdir()
    (folder / "ru.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "New"\nmsgstr "Новая"\n',
        encoding="utf-8",
    )
    return folder


class _Owner:
    def __init__(self, catalogs):
        self.catalogs = catalogs


def test_a_context_keeps_a_button_apart_from_a_stage_an_addon_names_alike(tmp_path):
    folder = _addon_folder(tmp_path)
    catalog = i18n.load_catalog("ru", [folder])
    assert catalog["New"] == "Новая"  # the addon's stage name wins over core's word
    catalogs = i18n.addon_catalogs([folder])
    with i18n.using(_Owner(catalogs)):
        assert i18n.translate("New", "ru") == "Новая"
        assert i18n.translate("New", "ru", "button") == "Создать"
        assert i18n.translate("New", "ru", "record") == "Новая запись"
        assert i18n.translate("New", "ru", "no such context") == "Новая"
        assert i18n.translate("New", "en", "button") == "New"
    # outside: core's catalog alone
    assert i18n.translate("New", "ru") == "Новый"
    assert i18n.translate("New", "ru", "button") == "Создать"


def test_catalogs_in_use_are_per_context_not_per_process(tmp_path):
    addon = i18n.addon_catalogs([_addon_folder(tmp_path)])
    seen = {}

    def other_thread():
        seen["other"] = i18n.translate("New", "ru")

    with i18n.using(_Owner(addon)):
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
        seen["here"] = i18n.translate("New", "ru")
    assert seen["here"] == "Новая"
    assert seen["other"] == i18n.CORE.translate("New", "ru") != "Новая"
    assert i18n.active_catalogs() is i18n.CORE


def test_two_registries_translate_with_their_own_addons_and_uninstall_unloads(make_config):
    with_contacts = TemplateAddonManager(make_config(paths=[SHIPPED_ADDONS])).install(["contacts"])
    base_only = TemplateAddonManager(make_config(paths=[SHIPPED_ADDONS])).install([])
    # "Partner tag" is the contacts addon's; "Settings" is core's
    assert with_contacts.translate("Partner tag", "ru") == "Метка контрагента"
    assert base_only.translate("Partner tag", "ru") == "Partner tag"
    assert with_contacts.translate("Settings", "ru") == base_only.translate("Settings", "ru")
    assert base_only.translate("Settings", "ru") == "Настройки"
    with with_contacts.transaction() as env:
        assert i18n.translate("Partner tag", "ru") == "Метка контрагента"
        assert i18n.tr(env.with_context(lang="ru"), "Partner tag") == "Метка контрагента"
        with base_only.transaction() as other:
            assert i18n.translate("Partner tag", "ru") == "Partner tag"
            assert i18n.tr(other.with_context(lang="ru"), "Partner tag") == "Partner tag"
            # an environment says which registry, whatever the context holds
            assert i18n.tr(env.with_context(lang="ru"), "Partner tag") == "Метка контрагента"
        assert i18n.translate("Partner tag", "ru") == "Метка контрагента"
    assert i18n.translate("Partner tag", "ru") == "Partner tag"  # no registry in use

    manager = TemplateAddonManager(with_contacts.config)
    after = manager.uninstall(["contacts"])
    assert after.translate("Partner tag", "ru") == "Partner tag"
    assert after.translate("Settings", "ru") == "Настройки"
    with after.transaction() as env:
        assert i18n.translate("Partner tag", "ru") == "Partner tag"
        assert env.with_context(lang="ru").translate("Settings") == "Настройки"
    # the registry built before the uninstall rebuilds on its next use and drops them too
    assert with_contacts.reload_if_changed()
    assert with_contacts.translate("Partner tag", "ru") == "Partner tag"
    assert with_contacts.translate("Settings", "ru") == "Настройки"
    manager.db.close()


def test_two_apps_in_one_process_translate_with_their_own_registry(make_config):
    """A request translates (the templates' ``_()``, page data) with its app's registry."""
    configs = [make_config(paths=[SHIPPED_ADDONS]), make_config(paths=[SHIPPED_ADDONS])]
    TemplateAddonManager(configs[0]).install(["contacts"])
    TemplateAddonManager(configs[1]).install([])
    with_contacts, base_only = (make_app(c) for c in configs)
    with with_contacts.test_request_context("/?lang=ru"):
        with_contacts.preprocess_request()
        assert gettext("Partner tag") == "Метка контрагента"
        with base_only.test_request_context("/?lang=ru"):
            base_only.preprocess_request()
            assert gettext("Partner tag") == "Partner tag"
            assert gettext("Settings") == "Настройки"
            base_only.do_teardown_request()
        assert gettext("Partner tag") == "Метка контрагента"
        with_contacts.do_teardown_request()
    assert i18n.active_catalogs() is i18n.CORE
