"""The documents that are made from the code, or must cover it, are current."""

from __future__ import annotations

import re

import click

from cli import cli
from core import hookspecs
from tests.conftest import ROOT

DOCS = ROOT / "docs"


def test_hooks_md_is_generated_from_hookspecs():
    assert (DOCS / "hooks.md").read_text(encoding="utf-8") == hookspecs.markdown(), (
        "docs/hooks.md is stale: run python -m core.hookspecs > docs/hooks.md"
    )


def test_every_hook_is_in_hooks_md():
    text = (DOCS / "hooks.md").read_text(encoding="utf-8")
    names = [n for n in dir(hookspecs) if getattr(getattr(hookspecs, n), "kontora_spec", None)]
    assert names, "no hook specifications found"
    for name in names:
        assert f"### `{name}(" in text, name


def test_the_architecture_map_names_every_package_and_module():
    text = (DOCS / "architecture.md").read_text(encoding="utf-8")
    table = text[text.index("## Map") : text.index("## Addons")]
    named = set(re.findall(r"`(core/[\w/]+(?:\.py|/))`", table))
    missing = []
    for path in sorted((ROOT / "core").rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        rel = path.relative_to(ROOT).as_posix()
        if path.name == "__init__.py" and path.parent.name != "core":
            rel = path.parent.relative_to(ROOT).as_posix() + "/"
        if rel not in named:
            missing.append(rel)
    assert not missing, f"docs/architecture.md's map does not name: {missing}"


def _commands(group, prefix="kontora"):
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            yield from _commands(command, path)
        else:
            yield path


def test_the_readme_lists_every_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = []
    for path in _commands(cli):
        words = path.split()
        # "kontora db backup FILE | kontora db restore FILE" and "add|remove" forms count
        pattern = r"\s+".join(re.escape(w) for w in words[:-1])
        pattern += rf"\s+(?:[\w-]+\|)*{re.escape(words[-1])}\b"
        if not re.search(pattern, readme):
            missing.append(path)
    assert not missing, f"README.md does not list: {missing}"
