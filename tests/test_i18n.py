"""Translation catalogs: core and addons merged, a later addon winning, and msgctxt for the
same English with another meaning ("New" on a button against "New" as a stage)."""

from __future__ import annotations

from core import i18n


def test_a_context_keeps_a_button_apart_from_a_stage_an_addon_names_alike(tmp_path):
    folder = tmp_path / "i18n"
    folder.mkdir()
    (folder / "ru.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "New"\nmsgstr "Новая"\n',
        encoding="utf-8",
    )
    catalog = i18n.load_catalog("ru", [folder])
    assert catalog["New"] == "Новая"  # the addon's stage name wins over core's word
    saved = list(i18n._FOLDERS)
    try:
        i18n.register_folders([folder])
        assert i18n.translate("New", "ru") == "Новая"
        assert i18n.translate("New", "ru", "button") == "Создать"
        assert i18n.translate("New", "ru", "record") == "Новая запись"
        assert i18n.translate("New", "ru", "no such context") == "Новая"
        assert i18n.translate("New", "en", "button") == "New"
    finally:
        i18n._FOLDERS[:] = saved
        i18n._CATALOGS.clear()
