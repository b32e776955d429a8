"""The calendar addon installed on a fresh database (fixtures of addons/conftest.py)."""

import pytest


@pytest.fixture
def calendar(shipped):
    """The registry with calendar (and contacts) installed, no demo data."""
    return shipped.install(["calendar"])
