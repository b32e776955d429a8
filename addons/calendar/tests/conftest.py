"""The calendar addon installed on a fresh database (fixtures of addons/conftest.py)."""

import pytest

from tests.addon_fixtures import databases, db_kind, make_config, make_user, shipped


@pytest.fixture
def calendar(shipped):
    """The registry with calendar (and contacts) installed, no demo data."""
    return shipped.install(["calendar"])
