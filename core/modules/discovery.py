"""Addon discovery: folders with a manifest.toml and the ``kontora.addons`` entry points."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import re
import sys
import tomllib
import types
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from core.exceptions import AddonError

BASE_DIR = Path(__file__).resolve().parent.parent / "base"
ENTRY_POINT_GROUP = "kontora.addons"
with open(BASE_DIR / "manifest.toml", "rb") as _fh:
    BASE_VERSION = tomllib.load(_fh)["version"]
PACKAGE_PREFIX = "kontora_addons"
MANIFEST_KEYS = MappingProxyType(
    {
        "name": str,
        "version": str,
        "summary": str,
        "title": str,
        "depends": list,
        "data": list,
        "demo": list,
        "auto_install": bool,
        "author": str,
        "license": str,
        "category": str,
        "after_install": str,
        "before_uninstall": str,
    }
)
# Manifest keys naming a function of the addon's package, called with a superuser ``env``.
LIFECYCLE_KEYS = ("after_install", "before_uninstall")
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_VERSION_RE = re.compile(r"^\d+(\.\d+){1,3}$")


@dataclass
class AddonInfo:
    """What the loader knows of one addon on disk."""

    name: str
    path: Path
    manifest_path: Path
    version: str = "0.0"
    summary: str = ""
    title: str = ""
    depends: list = field(default_factory=list)
    data: list = field(default_factory=list)
    demo: list = field(default_factory=list)
    auto_install: bool = False
    # name of a function of the addon's package, per LIFECYCLE_KEYS (None: nothing to call)
    after_install: str | None = None
    before_uninstall: str | None = None
    source: str = "folder"
    module_name: str | None = None  # import name for entry-point addons
    error: str | None = None

    def where(self) -> str:
        return str(self.manifest_path)

    def fail(self, message):
        raise AddonError(f"addon '{self.name}' ({self.where()}): {message}")

    def import_module(self):
        """Import the addon's package (only ever for installed addons)."""
        if self.module_name:
            return importlib.import_module(self.module_name)
        full_name = f"{PACKAGE_PREFIX}.{self.name}"
        if full_name in sys.modules and getattr(
            sys.modules[full_name], "__kontora_path__", None
        ) == str(self.path):
            return sys.modules[full_name]
        if PACKAGE_PREFIX not in sys.modules:
            package = types.ModuleType(PACKAGE_PREFIX)
            package.__path__ = []
            sys.modules[PACKAGE_PREFIX] = package
        init = self.path / "__init__.py"
        if not init.exists():
            self.fail("has no __init__.py")
        spec = importlib.util.spec_from_file_location(
            full_name, init, submodule_search_locations=[str(self.path)]
        )
        module = importlib.util.module_from_spec(spec)
        module.__kontora_path__ = str(self.path)
        for key in [k for k in sys.modules if k.startswith(full_name + ".")]:
            del sys.modules[key]
        sys.modules[full_name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            del sys.modules[full_name]
            raise AddonError(f"addon '{self.name}' ({init}): cannot be imported: {exc}") from exc
        return module

    def version_tuple(self):
        return version_tuple(self.version)

    def lifecycle_function(self, key: str):
        """The function the manifest names under ``key`` (``after_install``,
        ``before_uninstall``), or None when it names none; an ``AddonError`` naming the
        addon and the key when the addon's package has no such function."""
        name = getattr(self, key)
        if name is None:
            return None
        function = getattr(self.import_module(), name, None)
        if not callable(function):
            self.fail(f"'{key}' names {name!r}, which is not a function of the addon's package")
        return function


def version_tuple(version: str | None):
    if not version:
        return ()
    return tuple(int(part) for part in version.split("."))


def read_manifest(
    name: str, path: Path, manifest_path: Path, source="folder", module_name=None
) -> AddonInfo:
    """Parse and validate a manifest; a broken one gives an AddonInfo carrying the error."""
    info = AddonInfo(
        name=name, path=path, manifest_path=manifest_path, source=source, module_name=module_name
    )
    try:
        with open(manifest_path, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        info.error = f"manifest is not valid TOML: {exc}"
        return info
    except OSError as exc:
        info.error = f"manifest cannot be read: {exc}"
        return info
    problems = []
    for key, value in data.items():
        expected = MANIFEST_KEYS.get(key)
        if expected is None:
            problems.append(f"unknown key '{key}'")
        elif not isinstance(value, expected):
            problems.append(f"'{key}' must be a {expected.__name__}, got {type(value).__name__}")
    if "name" not in data:
        problems.append("'name' is missing")
    elif isinstance(data["name"], str) and data["name"] != name:
        problems.append(f"'name' is {data['name']!r} but the addon's folder is {name!r}")
    if "version" not in data:
        problems.append("'version' is missing")
    elif isinstance(data["version"], str) and not _VERSION_RE.match(data["version"]):
        problems.append(f"'version' must look like 1.0 or 1.2.3, got {data['version']!r}")
    if not _NAME_RE.match(name):
        problems.append("the name must be lower-case letters, digits and underscores")
    for key in ("depends", "data", "demo"):
        value = data.get(key, [])
        if isinstance(value, list) and not all(isinstance(v, str) for v in value):
            problems.append(f"'{key}' must be a list of strings")
    for key in ("data", "demo"):
        for rel in data.get(key, []) if isinstance(data.get(key), list) else []:
            if isinstance(rel, str) and not (path / rel).is_file():
                problems.append(f"{key} file '{rel}' does not exist")
    for key in LIFECYCLE_KEYS:
        value = data.get(key)
        if isinstance(value, str) and not value.isidentifier():
            problems.append(f"'{key}' must name a function of the addon's package, got {value!r}")
    if problems:
        info.error = "; ".join(problems)
        return info
    info.version = data["version"]
    info.summary = data.get("summary", "")
    info.title = data.get("title", "")
    info.depends = list(data.get("depends", []))
    if name != "base" and "base" not in info.depends:
        info.depends.insert(0, "base")
    info.data = list(data.get("data", []))
    info.demo = list(data.get("demo", []))
    info.auto_install = data.get("auto_install", False)
    info.after_install = data.get("after_install")
    info.before_uninstall = data.get("before_uninstall")
    return info


def discover(paths) -> dict[str, AddonInfo]:
    """Every addon found: core's ``base``, each addons path, then entry points."""
    # base is imported as core.base, so that `from core.base import ...` is the same module.
    found: dict[str, AddonInfo] = {
        "base": read_manifest("base", BASE_DIR, BASE_DIR / "manifest.toml", "core", "core.base")
    }
    for folder in paths:
        folder = Path(folder)
        if not folder.is_dir():
            raise AddonError(f"addons path '{folder}' is not a folder (addons.paths)")
        for child in sorted(folder.iterdir()):
            manifest = child / "manifest.toml"
            if child.is_dir() and manifest.is_file():
                if child.name in found:
                    continue  # the first path that has an addon wins, as in PATH
                found[child.name] = read_manifest(child.name, child, manifest)
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name in found:
            continue
        spec = importlib.util.find_spec(entry_point.value)
        if spec is None or not spec.submodule_search_locations:
            continue
        package_dir = Path(list(spec.submodule_search_locations)[0])
        found[entry_point.name] = read_manifest(
            entry_point.name,
            package_dir,
            package_dir / "manifest.toml",
            "entry point",
            entry_point.value,
        )
    return found


def resolve(addons: dict[str, AddonInfo], names) -> list[AddonInfo]:
    """The named addons and everything they depend on, dependencies first.

    Raises AddonError naming the addon and its manifest for a bad manifest, a missing
    dependency or a cycle, before anything is written anywhere.
    """
    needed: dict[str, AddonInfo] = {}

    def visit(name, wanted_by):
        if name in needed:
            return
        info = addons.get(name)
        if info is None:
            if wanted_by is None:
                raise AddonError(f"addon '{name}' is not found in the addons paths")
            wanted_by.fail(f"depends on '{name}', which is not found in the addons paths")
        if info.error:
            info.fail(info.error)
        needed[name] = info
        for dep in info.depends:
            visit(dep, info)

    for name in names:
        visit(name, None)
    return topological(needed)


def topological(selected: dict[str, AddonInfo]) -> list[AddonInfo]:
    """Dependencies first; ties broken by name so the order is stable."""
    order, state = [], {}

    def walk(name, stack):
        mark = state.get(name)
        if mark == "done":
            return
        if mark == "active":
            cycle = stack[stack.index(name) :] + [name]
            selected[name].fail("dependency cycle " + " -> ".join(cycle))
        state[name] = "active"
        for dep in sorted(selected[name].depends):
            if dep in selected:
                walk(dep, stack + [name])
        state[name] = "done"
        order.append(selected[name])

    for name in sorted(selected, key=lambda n: (n != "base", n)):
        walk(name, [])
    return order


def dependents(addons: dict[str, AddonInfo], installed: set[str], names) -> list[str]:
    """Installed addons that depend, directly or not, on any of ``names`` (names excluded)."""
    result, frontier = set(), set(names)
    while frontier:
        nxt = set()
        for other in installed:
            info = addons.get(other)
            if info and other not in result and other not in names and set(info.depends) & frontier:
                nxt.add(other)
        result |= nxt
        frontier = nxt
    return sorted(result)
