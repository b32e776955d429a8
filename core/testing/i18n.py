"""What an addon's catalog must hold: every user-facing English string of the addon.

``missing_translations(registry, "my_addon", folder, declarations)`` lists the strings found
in the addon's models (labels, help texts, choices, descriptions), its view declarations
(``string``/``title`` of every node), its code (the text argument of translation calls) and
its ``security.toml`` (group names) that ``folder/i18n/<lang>.po`` does not translate.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

from babel.messages.pofile import read_po

# Node attributes that hold child nodes in view declarations (core.views).
VIEW_CHILDREN = (
    "children",
    "pages",
    "body",
    "header",
    "smart_buttons",
    "fields",
    "filters",
    "group_bys",
    "nodes",
)
# Calls whose second argument is an English text to translate: ``tr(env, "...")``.
TRANSLATION_CALLS = ("translate", "tr")


def catalog(folder: Path, lang: str = "ru") -> dict:
    """``{msgid: msgstr}`` of the addon's catalog, translated entries only."""
    with open(Path(folder) / "i18n" / f"{lang}.po", "rb") as fh:
        return {m.id: m.string for m in read_po(fh, locale=lang) if m.id and m.string}


def model_strings(registry, addon) -> set:
    """Field labels, help texts, selection labels and model descriptions the addon declares."""
    found = set()
    for model in registry.models.values():
        for field in model._fields.values():
            if field.addon != addon:
                continue
            found |= {field.string, field.help}
            selection = getattr(field, "selection", None)
            if isinstance(selection, list | tuple):
                found |= {label for _key, label in selection}
        if getattr(model, "_addon", None) == addon and model._description:
            found.add(model._description)
    return {s for s in found if s}


def view_strings(declarations) -> set:
    """``string`` and ``title`` of every node of view, menu, action and widget declarations."""
    found = set()

    def walk(node):
        for attr in ("string", "title"):
            value = getattr(node, attr, None)
            if isinstance(value, str):
                found.add(value)
        for attr in VIEW_CHILDREN:
            for child in getattr(node, attr, None) or ():
                if not isinstance(child, str):
                    walk(child)

    for item in declarations:
        walk(item)
    return found


def code_strings(folder: Path, calls=TRANSLATION_CALLS) -> set:
    """The text argument of ``tr(env, "...")`` calls in the addon's modules, sub-packages
    (``models/``) included, its tests not."""
    found = set()
    folder = Path(folder)
    for path in sorted(folder.rglob("*.py")):
        if "tests" in path.relative_to(folder).parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in calls:
                text = node.args[1] if len(node.args) > 1 else None
                if isinstance(text, ast.Constant) and isinstance(text.value, str) and text.value:
                    found.add(text.value)
    return found


def data_strings(folder: Path) -> set:
    """Group names of the addon's ``security.toml``."""
    found = set()
    security = Path(folder) / "security.toml"
    if security.is_file():
        data = tomllib.loads(security.read_text(encoding="utf-8"))
        found |= {g["name"] for g in data.get("groups", [])}
    return found


def missing_translations(registry, addon, folder, declarations=(), extra=(), lang="ru") -> list:
    """The addon's user-facing strings that its ``i18n/<lang>.po`` lacks, sorted."""
    folder = Path(folder)
    wanted = (
        model_strings(registry, addon)
        | view_strings(declarations)
        | code_strings(folder)
        | data_strings(folder)
        | set(extra)
    )
    have = catalog(folder, lang)
    return sorted(s for s in wanted if s not in have)
