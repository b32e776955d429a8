"""Fixtures for the shipped addons' tests: the project's database fixtures (tests/conftest.py)
and an AddonManager over the shipped addons on a fresh database of each kind."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
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
def make_user():
    """``make_user(env, login, ["contacts.group_sale_salesman"], **values)``: a user."""

    def make(env, login, group_xml_ids, **values):
        groups = [env.ref(x).id for x in group_xml_ids]
        vals = {"name": login.title(), "login": login, "groups_id": [(6, 0, groups)]}
        return env["res.users"].create({**vals, **values})

    return make
