"""The addon's translations: its own catalog (i18n/ru.po) first, then the core's."""

from __future__ import annotations

from pathlib import Path

from core.i18n import load_catalog

I18N = Path(__file__).resolve().parent / "i18n"
_CATALOGS: dict[str, dict[str, str]] = {}


def translate(env, text: str, **values) -> str:
    """``text`` in the user's language (``env`` is an environment or a language code),
    ``%(name)s`` placeholders filled from ``values``."""
    lang = env if isinstance(env, str) or env is None else env.lang
    if lang and lang != "en":
        catalog = _CATALOGS.get(lang)
        if catalog is None:
            catalog = _CATALOGS[lang] = load_catalog(lang, [I18N])
        text = catalog.get(text) or text
    return text % values if values else text
