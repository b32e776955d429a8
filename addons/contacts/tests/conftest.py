"""The contacts addon installed on a fresh database (fixtures of addons/conftest.py)."""

import pytest

from tests.addon_fixtures import shipped


@pytest.fixture
def contacts(shipped):
    """The registry with contacts installed (no demo data)."""
    return shipped.install(["contacts"])
