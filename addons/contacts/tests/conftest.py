"""The contacts addon installed on a fresh database (fixtures of addons/conftest.py)."""

import pytest


@pytest.fixture
def contacts(shipped):
    """The registry with contacts installed (no demo data)."""
    return shipped.install(["contacts"])
