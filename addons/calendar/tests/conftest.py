"""The project's database fixtures (tests/conftest.py), and this addon installed on them."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.modules import AddonManager  # noqa: E402
from tests import conftest as project  # noqa: E402

# The project's fixtures, shared by name: a fresh database per test, SQLite and PostgreSQL.
databases, db_kind, make_config = project.databases, project.db_kind, project.make_config


@pytest.fixture
def shipped(make_config):  # noqa: F811 (the fixture above, by name)
    """An AddonManager over the shipped addons, on a fresh database of this run's kind."""
    manager = AddonManager(make_config(paths=[project.SHIPPED_ADDONS]))
    yield manager
    if not manager.db.is_closed():
        manager.db.close()


@pytest.fixture
def calendar(shipped):
    """The registry with calendar (and contacts) installed, no demo data."""
    return shipped.install(["calendar"])
