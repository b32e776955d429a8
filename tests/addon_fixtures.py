"""Fixtures for the shipped addons' tests, which their ``tests/conftest.py`` import: an
AddonManager over the shipped addons on a fresh database of each kind. The rest (databases,
``make_config``, ``make_user``, ...) comes from Kontora's pytest plugin, ``core.testing``.

Not a conftest.py in ``addons/``: pytest would put ``addons/`` on ``sys.path``, and the
``calendar`` addon would then shadow the standard library's ``calendar`` module.
"""

from pathlib import Path

import pytest

from core.testing import TemplateAddonManager

SHIPPED_ADDONS = Path(__file__).resolve().parent.parent / "addons"


@pytest.fixture
def shipped(make_config):
    """An AddonManager over the shipped addons, on a fresh database of this run's kind; its
    first install copies a template of the same installed state."""
    manager = TemplateAddonManager(make_config(paths=[SHIPPED_ADDONS]))
    yield manager
    if not manager.db.is_closed():
        manager.db.close()
