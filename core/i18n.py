"""Translations of user-facing text (gettext catalogs of core and addons)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

_CATALOGS: dict[str, dict[str, str]] = {}
CORE_I18N = Path(__file__).resolve().parent / "i18n"
# Addons' catalog folders, in dependency order; a later addon's translation wins.
_FOLDERS: list[Path] = []
CONTEXT_SEPARATOR = "\x04"  # gettext's own between msgctxt and msgid


def register_folders(folders) -> None:
    """Add addons' ``i18n`` folders to the catalogs (the registry does, for installed addons)."""
    added = False
    for folder in folders:
        folder = Path(folder)
        if folder.is_dir() and folder not in _FOLDERS:
            _FOLDERS.append(folder)
            added = True
    if added:
        _CATALOGS.clear()


def load_catalog(lang: str, folders=()) -> dict[str, str]:
    """Merge ``<folder>/<lang>.po`` of core and the given addon folders."""
    messages: dict[str, str] = {}
    for folder in (CORE_I18N, *folders):
        path = Path(folder) / f"{lang}.po"
        if path.is_file():
            with open(path, "rb") as fh:
                for message in read_po(fh, locale=lang):
                    if message.id and message.string:
                        key = message.id
                        if message.context:  # msgctxt: the same English, another meaning
                            key = f"{message.context}{CONTEXT_SEPARATOR}{message.id}"
                        messages[key] = message.string
    return messages


def translate(text: str, lang: str | None, context: str | None = None) -> str:
    """``text`` in ``lang``; with ``context`` (a ``msgctxt``, e.g. ``"button"``) the entry
    of that meaning first, so that "New" can be «Создать» on a button and «Новая» as a
    stage."""
    if not lang or lang == "en" or not text:
        return text
    catalog = _CATALOGS.get(lang)
    if catalog is None:
        catalog = _CATALOGS[lang] = load_catalog(lang, _FOLDERS)
    if context:
        found = catalog.get(f"{context}{CONTEXT_SEPARATOR}{text}")
        if found is not None:
            return found
    return catalog.get(text, text)


def tr(env_or_lang, text: str, **values) -> str:
    """``text`` in the language of an environment (or a language code), placeholders filled:
    the one translation helper addons call from code."""
    plain = env_or_lang is None or isinstance(env_or_lang, str)
    lang = env_or_lang if plain else env_or_lang.lang
    result = translate(text, lang)
    return result % values if values else result
