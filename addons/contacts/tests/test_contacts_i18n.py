"""Every user-facing string of contacts (labels, help, choices, views, menus, messages,
groups) has a Russian translation."""

import importlib
from pathlib import Path

from core.testing.i18n import missing_translations as missing

FOLDER = Path(__file__).resolve().parent.parent


def test_every_string_has_a_russian_translation(contacts):
    views = importlib.import_module("kontora_addons.contacts.views")
    assert missing(contacts, "contacts", FOLDER, views.declarations()) == []
