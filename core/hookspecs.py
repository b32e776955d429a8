"""Every hook an addon can implement, grouped by phase. Add hooks; never change one.

An addon implements a hook by defining a function of the same name in its ``__init__.py``
decorated with ``core.hookimpl`` (``from core import hookimpl``). Only installed addons are registered.
"""

import ast
import inspect
import re

import pluggy

hookspec = pluggy.HookspecMarker("kontora")

# -- Registry build: called once per build, in dependency order -----------------------------


@hookspec
def register_models():
    """Return the model classes the addon declares (``_name``) or extends (``_inherit``).

    :returns: a list of ``core.orm.models.Model`` subclasses.

    .. versionadded:: 0.1
    """


@hookspec
def register_jobs():
    """Return the background jobs and periodic tasks the addon provides.

    :returns: a list of ``core.jobs.Job`` (a name, a function ``fn(env, **payload)``,
        retries, a retry delay, and for periodic tasks a ``core.jobs.crontab(...)``).

    .. versionadded:: 0.1
    """


@hookspec
def registry_built(registry):
    """Called after a registry is composed and validated, before it serves anything.

    :param registry: the new ``core.orm.registry.Registry``.

    .. versionadded:: 0.1
    """


# -- Web and command line ----------------------------------------------------------------------


@hookspec
def register_routes():
    """Return Flask blueprints the addon adds to the web application.

    :returns: a list of ``flask.Blueprint``.

    .. versionadded:: 0.1
    """


@hookspec
def register_commands(cli):
    """Add click commands to the ``kontora`` command line.

    :param cli: the root ``click.Group``; call ``cli.add_command(...)``.

    .. versionadded:: 0.1
    """


@hookspec
def register_views():
    """Return the views, menus, actions and view patches the addon declares.

    :returns: a list of ``core.orm.views`` declarations: ``ListView``, ``FormView``,
        ``KanbanView``, ``CalendarView``, ``GraphView``, ``PivotView``, ``SearchView``,
        ``Menu``, ``Action`` and ``Patch`` (changes to a view another addon declared).
        They are validated against the registry when it is built.

    .. versionadded:: 0.2
    """


@hookspec
def register_dashboard():
    """Return the widgets the addon adds to the home page's dashboard.

    :returns: a list of ``core.orm.views.Widget`` (a name, a title, a function
        ``fn(env) -> dict`` giving what the widget's template shows, and the template).

    .. versionadded:: 0.2
    """


@hookspec
def register_reports():
    """Return the printable reports (PDF) the addon provides.

    :returns: a list of ``core.reporting.reports.Report`` (a name, the model, a title and a jinja2
        template); reports are rendered for records the user may read, and nothing else.

    .. versionadded:: 0.2
    """


# -- Addon lifecycle -----------------------------------------------------------------------------


@hookspec
def addon_installed(env, addon):
    """Called in the install transaction after an addon's tables and data exist, for every
    addon installed and in every installed addon: it is for reacting to *another* addon's
    install. An addon's own install step is not a hook: its manifest names a function of
    its package (``after_install = "after_install"``), called with ``env`` for that addon
    only, just before this hook; ``before_uninstall`` likewise runs before its uninstall.

    :param env: a superuser ``Environment`` on the new registry.
    :param addon: the technical name of the addon just installed.

    .. versionadded:: 0.1
    """


# -- Record events: once per batch, after the change is stored ---------------------------------


@hookspec
def record_created(env, model, records):
    """Records were created (one call per ``create`` batch).

    :param env: the environment of the change. :param model: the model name.
    :param records: the new recordset.

    .. versionadded:: 0.1
    """


@hookspec
def record_written(env, model, records, vals):
    """Records were changed (one call per ``write``).

    :param vals: the field values written (x2many fields as commands).

    .. versionadded:: 0.1
    """


@hookspec
def record_deleted(env, model, ids):
    """Records were deleted (one call per ``unlink``).

    :param ids: the ids that no longer exist.

    .. versionadded:: 0.1
    """


# -- docs/hooks.md is made from this file ------------------------------------------------------


def markdown() -> str:
    """``docs/hooks.md``: every hook of this file under its phase, with its docstring
    (``python -m core.hookspecs > docs/hooks.md``; a test fails when the file is stale)."""
    source = inspect.getsource(inspect.getmodule(markdown))
    heads = {
        number: match.group(1)
        for number, line in enumerate(source.splitlines(), 1)
        if (match := re.match(r"^# -- (.+?) -+$", line))
    }
    out = [
        "# Hooks",
        "",
        "Generated from `core/hookspecs.py` by `python -m core.hookspecs > docs/hooks.md`;",
        "do not edit by hand. An addon implements a hook with a function of the same name",
        "in its `__init__.py`, decorated with `core.hookimpl` (`from core import hookimpl`).",
        "",
    ]
    for node in ast.parse(source).body:
        if not isinstance(node, ast.FunctionDef) or not any(
            isinstance(d, ast.Name) and d.id == "hookspec" for d in node.decorator_list
        ):
            continue
        before = [n for n in heads if n < node.lineno]
        if before and heads.get(max(before)) is not None:
            out += [f"## {heads.pop(max(before))}", ""]
        args = ", ".join(a.arg for a in node.args.args)
        out += [f"### `{node.name}({args})`", "", inspect.cleandoc(ast.get_docstring(node)), ""]
    return "\n".join(out)


if __name__ == "__main__":
    print(markdown(), end="")
