"""The plugin manager: installed addons are pluggy plugins; hook calls can be traced."""

from __future__ import annotations

import logging
import os

import pluggy

from core import hookspecs

hookimpl = pluggy.HookimplMarker("kontora")
_logger = logging.getLogger("kontora.hooks")


def make_plugin_manager(plugins) -> pluggy.PluginManager:
    """A manager with ``(name, module)`` plugins registered in the given (dependency) order."""
    pm = pluggy.PluginManager("kontora")
    pm.add_hookspecs(hookspecs)
    for name, module in plugins:
        pm.register(module, name=name)
    if os.environ.get("KONTORA_TRACE_HOOKS") == "1":
        pm.trace.root.setwriter(lambda message: _logger.info(message.rstrip()))
        pm.enable_tracing()
    return pm


def call_in_order(pm: pluggy.PluginManager, hook_name: str, order: list[str], **kwargs):
    """Call one hook addon by addon in ``order``; return ``[(addon, result)]`` without Nones."""
    caller = getattr(pm.hook, hook_name)
    by_plugin = {impl.plugin_name: impl for impl in caller.get_hookimpls()}
    tracing = os.environ.get("KONTORA_TRACE_HOOKS") == "1"
    results = []
    for name in order:
        impl = by_plugin.get(name)
        if impl is None:
            continue
        args = {key: kwargs[key] for key in impl.argnames}
        if tracing:
            _logger.info("hook %s: %s(%s)", name, hook_name, ", ".join(args))
        result = impl.function(**args)
        if result is not None:
            results.append((name, result))
    return results


def call_addon_function(addon: str, name: str, function, **kwargs):
    """Call one addon's own function (``after_install``, ``before_uninstall``: named in its
    manifest, not a hook), traced like hooks with ``KONTORA_TRACE_HOOKS=1``."""
    if os.environ.get("KONTORA_TRACE_HOOKS") == "1":
        _logger.info("addon %s: %s(%s)", addon, name, ", ".join(kwargs))
    return function(**kwargs)
