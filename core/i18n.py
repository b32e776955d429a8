"""Translations of user-facing text (gettext catalogs of core and addons).

Catalogs belong to a registry (``registry.catalogs``: core's and its installed addons'), so
two registries in one process translate with their own addons only, and an uninstalled
addon's strings go with the registry that had it. ``tr(env, ...)`` and ``env.translate``
use the environment's registry; ``translate(text, lang)`` without an environment uses the
registry in use in this context (a transaction or a web request sets it: ``activate``), and
core's own catalog where there is none.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from pathlib import Path

from babel.messages.pofile import read_po

CORE_I18N = Path(__file__).resolve().parent / "i18n"
CONTEXT_SEPARATOR = "\x04"  # gettext's own between msgctxt and msgid


def read_catalog(path: Path, lang: str) -> dict[str, str]:
    """``{msgid: msgstr}`` of one ``.po`` file (``msgctxt`` joined to the msgid)."""
    messages: dict[str, str] = {}
    if path.is_file():
        with open(path, "rb") as fh:
            for message in read_po(fh, locale=lang):
                if message.id and message.string:
                    key = message.id
                    if message.context:  # msgctxt: the same English, another meaning
                        key = f"{message.context}{CONTEXT_SEPARATOR}{message.id}"
                    messages[key] = message.string
    return messages


def load_catalog(lang: str, folders=()) -> dict[str, str]:
    """Merge ``<folder>/<lang>.po`` of core and the given addon folders."""
    messages: dict[str, str] = {}
    for folder in (CORE_I18N, *folders):
        messages.update(read_catalog(Path(folder) / f"{lang}.po", lang))
    return messages


class Catalogs:
    """The translations of one set of addons: core's catalog, then each addon's ``i18n``
    folder in dependency order (a later addon's entry wins). Languages are read on first
    use; safe to share between threads."""

    def __init__(self, folders=(), core: Catalogs | None = None):
        self.folders = tuple(Path(f) for f in folders if Path(f).is_dir())
        # core's own entries, read once per process (``CORE``) instead of once per registry
        self.core = core
        self._loaded: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()

    def catalog(self, lang: str) -> dict[str, str]:
        """``{msgid: msgstr}`` of ``lang`` (``msgctxt\\x04msgid`` for entries with a context)."""
        found = self._loaded.get(lang)
        if found is None:
            with self._lock:
                found = self._loaded.get(lang)
                if found is None:
                    found = self._load(lang)
                    self._loaded[lang] = found
        return found

    def _load(self, lang):
        if self.core is None:
            return load_catalog(lang, self.folders)
        merged = dict(self.core.catalog(lang))
        for folder in self.folders:
            merged.update(read_catalog(folder / f"{lang}.po", lang))
        return merged

    def translate(self, text: str, lang: str | None, context: str | None = None) -> str:
        """``text`` in ``lang``; with ``context`` (a ``msgctxt``) that meaning's entry first."""
        if not lang or lang == "en" or not text:
            return text
        catalog = self.catalog(lang)
        if context:
            found = catalog.get(f"{context}{CONTEXT_SEPARATOR}{text}")
            if found is not None:
                return found
        return catalog.get(text, text)


# Core's own catalog (``core/i18n``): what every registry starts from, and what a
# translation outside any registry uses. It holds the files shipped with the code only.
CORE = Catalogs()


def addon_catalogs(folders) -> Catalogs:
    """The catalogs of core and the given addons' ``i18n`` folders (in dependency order)."""
    return Catalogs(folders, core=CORE)


# The registry in use in this context (a thread, a request, a transaction): anything with a
# ``catalogs`` attribute. A variable per context, not per process: two registries in one
# process, or two apps, each set their own.
_IN_USE: contextvars.ContextVar = contextvars.ContextVar("kontora_catalogs", default=None)


def activate(owner) -> contextvars.Token:
    """Translate with ``owner.catalogs`` (a registry) in this context until ``deactivate``."""
    return _IN_USE.set(owner)


def deactivate(token: contextvars.Token) -> None:
    """Undo ``activate``."""
    try:
        _IN_USE.reset(token)
    except ValueError:  # ended in another context than it began in: leave nothing behind
        _IN_USE.set(None)


@contextlib.contextmanager
def using(owner):
    """``with using(registry):`` plain ``translate`` calls use that registry's catalogs."""
    token = activate(owner)
    try:
        yield owner
    finally:
        deactivate(token)


def active_catalogs() -> Catalogs:
    """The catalogs of the registry in use here, or core's alone."""
    owner = _IN_USE.get()
    catalogs = getattr(owner, "catalogs", None)
    return catalogs if catalogs is not None else CORE


def translate(text: str, lang: str | None, context: str | None = None) -> str:
    """``text`` in ``lang``; with ``context`` (a ``msgctxt``, e.g. ``"button"``) the entry
    of that meaning first, so that "New" can be «Создать» on a button and «Новая» as a
    stage. The catalogs are those of the registry in use (``active_catalogs``)."""
    if not lang or lang == "en" or not text:
        return text
    return active_catalogs().translate(text, lang, context)


def tr(env_or_lang, text: str, **values) -> str:
    """``text`` in the language of an environment (or a language code), placeholders filled:
    the one translation helper addons call from code. An environment translates with its
    registry's catalogs, a language code with those of the registry in use."""
    plain = env_or_lang is None or isinstance(env_or_lang, str)
    lang = env_or_lang if plain else env_or_lang.lang
    catalogs = None if plain else getattr(getattr(env_or_lang, "registry", None), "catalogs", None)
    result = (catalogs or active_catalogs()).translate(text, lang)
    return result % values if values else result
