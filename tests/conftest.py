"""The project's test set-up. The fixtures themselves (databases of both kinds, ``install``,
``registry``, ``env``, the web client, the browser, SMTP) come from Kontora's pytest plugin,
``core.testing``, as for any addon; ``make_config()`` defaults to the fixture addons
(``kontora_addons_paths`` in pyproject.toml)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.testing.databases import DB_KINDS, PG_ADMIN_URL, REQUIRE_PG, Databases, pg_available
from core.testing.databases import pg_connect as _pg_connect

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_ADDONS = ROOT / "tests" / "fixtures" / "addons"
SHIPPED_ADDONS = ROOT / "addons"

# Addons the tests install, not tests of this suite: the outside project's tests run in a
# pytest of their own (test_testing_plugin.py).
collect_ignore = ["fixtures"]

# These count on PostgreSQL's snapshot staying the same between two requests (a page cache
# answering again): no other worker may commit meanwhile (core.testing.turns).
ALONE = {
    "test_list_pages_are_answered_again_only_while_nothing_changed",
    "test_a_repeated_page_costs_one_statement_and_addons_installed_elsewhere_show",
    "test_pages_with_computed_fields_are_kept_only_when_they_say_what_they_depend_on",
}


def pytest_collection_modifyitems(items):
    for item in items:
        if getattr(item, "originalname", None) in ALONE:
            item.add_marker(pytest.mark.kontora_alone)


__all__ = [
    "DB_KINDS",
    "FIXTURE_ADDONS",
    "PG_ADMIN_URL",
    "REQUIRE_PG",
    "ROOT",
    "SHIPPED_ADDONS",
    "Databases",
    "_pg_connect",
    "pg_available",
]
