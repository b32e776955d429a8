"""The calendar addon's translations (its own catalog first, then contacts' and the core's)."""

from pathlib import Path

from ..contacts.tools import translate as _translate

I18N = Path(__file__).resolve().parent / "i18n"


def translate(env, text, **values):
    return _translate(env, text, I18N, **values)
