"""Fixtures for the shipped addons' tests, which their ``tests/conftest.py`` import: the
project's database fixtures (tests/conftest.py) and an AddonManager over the shipped addons
on a fresh database of each kind.

Not a conftest.py in ``addons/``: pytest would put ``addons/`` on ``sys.path``, and the
``calendar`` addon would then shadow the standard library's ``calendar`` module.
"""

import pytest

from core.modules.manager import AddonManager
from tests import conftest as project

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
