"""What a Russian catalog of an addon must hold: every user-facing English string."""

import ast
import tomllib
from pathlib import Path

from babel.messages.pofile import read_po

from core import views as V


def catalog(folder: Path) -> dict:
    with open(folder / "i18n" / "ru.po", "rb") as fh:
        return {m.id: m.string for m in read_po(fh, locale="ru") if m.id and m.string}


def model_strings(registry, addon) -> set:
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
    found = set()

    def walk(node):
        for attr in ("string", "title"):
            value = getattr(node, attr, None)
            if isinstance(value, str):
                found.add(value)
        for attr in (
            "children",
            "pages",
            "body",
            "header",
            "smart_buttons",
            "fields",
            "filters",
            "group_bys",
            "nodes",
        ):
            for child in getattr(node, attr, None) or ():
                if not isinstance(child, str):
                    walk(child)

    for item in declarations:
        walk(item)
    return found


def code_strings(folder: Path) -> set:
    """First arguments of translate(env, "...") calls, and messages given to errors."""
    found = set()
    for path in folder.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "translate":
                text = node.args[1] if len(node.args) > 1 else None
                if isinstance(text, ast.Constant) and isinstance(text.value, str) and text.value:
                    found.add(text.value)
    return found


def data_strings(folder: Path) -> set:
    found = set()
    security = folder / "security.toml"
    if security.is_file():
        data = tomllib.loads(security.read_text(encoding="utf-8"))
        found |= {g["name"] for g in data.get("groups", [])}
    return found


def missing(registry, addon, folder: Path, declarations, extra=()) -> list:
    wanted = (
        model_strings(registry, addon)
        | view_strings(declarations)
        | code_strings(folder)
        | data_strings(folder)
        | set(extra)
    )
    have = catalog(folder)
    _ = V  # views are built with core.orm.views; imported for the node classes' attributes
    return sorted(s for s in wanted if s not in have)
