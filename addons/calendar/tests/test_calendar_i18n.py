"""Every user-facing string of calendar (labels, help, choices, views, menus, widgets,
messages, the digest) has a Russian translation."""

import importlib
from pathlib import Path

from core.testing.i18n import missing_translations as missing

FOLDER = Path(__file__).resolve().parent.parent


def test_every_string_has_a_russian_translation(calendar):
    views = importlib.import_module("kontora_addons.calendar.views")
    declarations = views.declarations() + views.widgets()
    extra = ["Overdue", "Today"]  # the digest's headings, translated through a variable
    assert missing(calendar, "calendar", FOLDER, declarations, extra) == []
