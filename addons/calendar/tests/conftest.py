"""The calendar addon installed on a fresh database (fixtures of addons/conftest.py)."""

import pytest

from tests.addon_fixtures import shipped


@pytest.fixture
def calendar(shipped):
    """The registry with calendar (and contacts) installed, no demo data."""
    return shipped.install(["calendar"])
