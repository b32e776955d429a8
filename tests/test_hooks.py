"""Hook specifications are documented; hook calls can be traced with KONTORA_TRACE_HOOKS=1."""

from __future__ import annotations

import inspect
import logging

import pytest

from core import hookspecs
from core.plugins import make_plugin_manager


def _hookspecs():
    return {
        name: func
        for name, func in vars(hookspecs).items()
        if inspect.isfunction(func) and hasattr(func, "kontora_spec")
    }


def test_every_hookspec_is_documented():
    specs = _hookspecs()
    assert {"register_models", "registry_built", "addon_installed", "record_created"} <= set(specs)
    undocumented = [name for name, func in specs.items() if len(inspect.getdoc(func) or "") < 20]
    assert not undocumented, f"hooks without a docstring in core/hookspecs.py: {undocumented}"


def test_plugin_manager_knows_every_hookspec():
    pm = make_plugin_manager([])
    assert set(_hookspecs()) <= {name for name in dir(pm.hook) if not name.startswith("_")}


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_trace_logs_hook_calls(monkeypatch, caplog, install):
    monkeypatch.setenv("KONTORA_TRACE_HOOKS", "1")
    with caplog.at_level(logging.INFO, logger="kontora.hooks"):
        install("fx_base")
    messages = [r.getMessage() for r in caplog.records if r.name == "kontora.hooks"]
    assert any("fx_base" in m and "register_models" in m for m in messages), messages
    assert any("registry_built" in m for m in messages), messages
    assert any("addon_installed" in m for m in messages), messages


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_no_trace_by_default(monkeypatch, caplog, install):
    monkeypatch.delenv("KONTORA_TRACE_HOOKS", raising=False)
    with caplog.at_level(logging.INFO, logger="kontora.hooks"):
        install("fx_base")
    assert not [r for r in caplog.records if r.name == "kontora.hooks"]
