"""The core's layers and the rules its imports follow, read from the source with ``ast``.

``cli`` → ``http`` → ``web`` | ``rest`` → ``request`` → ``io`` | ``reporting`` | ``modules``
→ ``base`` → ``orm`` → ``db`` | ``jobs`` → ground modules. A module imports modules of lower layers and
of its own package, never a higher layer, never a sibling layer, never an addon, and no
import circle forms inside ``core``. Addons import only the public API: ``from core import
...`` and the documented modules in ``PUBLIC_MODULES``.

``tests/test_layers.py`` runs these checks on the tree; ``python -m core.layers`` prints
what they find.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

CORE_DIR = Path(__file__).resolve().parent

# Lower number, lower layer. Ground modules are the top-level modules of ``core`` itself.
GROUND = 0
LAYERS: MappingProxyType[str, int] = MappingProxyType(
    {
        "core.db": 1,
        "core.jobs": 1,
        "core.orm": 2,
        "core.base": 3,
        "core.modules": 4,
        "core.io": 4,
        "core.reporting": 4,
        "core.request": 5,
        "core.web": 6,
        "core.rest": 6,
        "core.http": 7,
        "core.testing": 8,
        "core": 8,  # core/__init__.py: the public API gathers names from every layer
    }
)
# What addons may import besides ``from core import ...``.
PUBLIC_MODULES = ("core", "core.testing")


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module (``from a.b import c``: ``a.b.c`` when that is a module)
    line: int
    inner: bool  # inside a function or class body


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(name: str, root: Path) -> bool:
    base = root.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def imports_of(path: Path, root: Path, prefixes=("core", "addons", "kontora_addons")):
    """The project imports of one file (relative ones resolved), with their line numbers."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: list[Import] = []

    def visit(node, inner):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                continue
            nested = inner or isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda
            )
            if isinstance(child, ast.Import):
                for alias in child.names:
                    found.append(Import(name, alias.name, child.lineno, inner))
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")
                    base = base[: len(base) - (child.level - 1)]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                for alias in child.names:
                    full = f"{target}.{alias.name}"
                    found.append(
                        Import(
                            name,
                            full if _is_module(full, root) else target,
                            child.lineno,
                            inner,
                        )
                    )
            visit(child, nested)

    visit(tree, False)
    return [i for i in found if i.target.split(".")[0] in prefixes]


def _is_type_checking(test) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def layer_of(module: str) -> tuple[str, int]:
    """(package, rank) of a core module; ground modules are their own package."""
    parts = module.split(".")
    if len(parts) >= 2:
        package = ".".join(parts[:2])
        if package in LAYERS:
            return package, LAYERS[package]
        return module, GROUND  # core.config, core.i18n, ...
    return "core", LAYERS["core"]


def core_files(core_dir: Path = CORE_DIR) -> list[Path]:
    return sorted(p for p in core_dir.rglob("*.py") if "__pycache__" not in p.parts)


def layer_violations(core_dir: Path = CORE_DIR) -> list[str]:
    """Every import in ``core`` against the layers, as ``file:line: message``."""
    root = core_dir.parent
    problems = []
    graph: dict[str, set[str]] = {}
    for path in core_files(core_dir):
        where = path.relative_to(root)
        for imp in imports_of(path, root):
            if imp.target.split(".")[0] != "core":
                problems.append(f"{where}:{imp.line}: core imports the addon {imp.target}")
                continue
            if imp.target == "core" and imp.source != "core":
                problems.append(
                    f"{where}:{imp.line}: imports the public API `core`; "
                    f"import the module that defines the name"
                )
                continue
            graph.setdefault(imp.source, set()).add(imp.target)
            if imp.inner:
                problems.append(
                    f"{where}:{imp.line}: imports {imp.target} inside a function; "
                    f"import project modules at the top"
                )
            src_pkg, src_rank = layer_of(imp.source)
            dst_pkg, dst_rank = layer_of(imp.target)
            if src_pkg == dst_pkg or dst_rank < src_rank:
                continue
            if dst_rank == GROUND and src_rank == GROUND:
                continue
            what = "a sibling layer" if dst_rank == src_rank else "a higher layer"
            problems.append(f"{where}:{imp.line}: {imp.source} imports {imp.target}, {what}")
    problems.extend(f"import circle: {' → '.join(c)}" for c in find_cycles(graph))
    return problems


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One circle per strongly connected component of more than one module (or a self
    import), as the path that closes it."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []
    counter = [0]

    def strongconnect(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph.get(node, ())):
            if succ not in index:
                strongconnect(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                cycles.append(_close(sorted(component), graph))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in sorted(graph):
        if node not in index:
            strongconnect(node)
    return cycles


def _close(component, graph):
    """A path through the component from its first module back to it."""
    members = set(component)
    start = component[0]
    path, seen = [start], {start}
    node = start
    while True:
        nexts = sorted(n for n in graph.get(node, ()) if n in members)
        if start in nexts and len(path) > 1 or nexts == [start]:
            return [*path, start]
        fresh = [n for n in nexts if n not in seen]
        if not fresh:
            return [*path, start]
        node = fresh[0]
        path.append(node)
        seen.add(node)


def public_api_violations(addon_dirs, root: Path) -> list[str]:
    """Imports of ``core`` internals by addons: only ``from core import ...`` and
    ``PUBLIC_MODULES`` are allowed."""
    problems = []
    for addon_dir in addon_dirs:
        for path in sorted(Path(addon_dir).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            for imp in _raw_core_imports(path):
                if imp[1] not in PUBLIC_MODULES and not imp[1].startswith("core.testing."):
                    problems.append(
                        f"{path.relative_to(root)}:{imp[0]}: imports {imp[1]}; addons use "
                        f"`from core import ...` (or {', '.join(PUBLIC_MODULES[1:])})"
                    )
    return problems


def _raw_core_imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "core":
                    yield node.lineno, alias.name
        elif (
            isinstance(node, ast.ImportFrom)
            and not node.level
            and node.module
            and node.module.split(".")[0] == "core"
        ):
            yield node.lineno, node.module


# -- the ORM's private attributes ---------------------------------------------------------------------
# Class attributes of a model that anyone may read: what addons declare (Odoo's names) and what
# the registry sets on a final class for the schema (``_table``: its peewee table, ``_addon``).
MODEL_DECLARATIONS = frozenset(
    {
        "_name",
        "_description",
        "_inherit",
        "_order",
        "_rec_name",
        "_fields",
        "_abstract",
        "_track",
        "_parent_name",
        "_sql_constraints",
        "_table",
        "_addon",
    }
)


# -- no module-level state --------------------------------------------------------------------
# Caches live on the registry, the database or the Flask app, so that two registries or two
# apps in one process share nothing. A module-level assignment of a mutable container, or a
# memoising decorator, is refused unless listed here ("module.NAME": why it may stay).
# Constant tables are frozen instead (tuple, frozenset, MappingProxyType).
PURE = "pure memoisation of a constant function of its arguments, the same for every database"
TEST_RUN = "the test run's own state (one pytest session per process), no database's or app's"
STATE_ALLOWED = MappingProxyType(
    {
        # a number's template per (kind, language, places, currency), read off Babel
        "core.web.data._number_template": PURE,
        # Babel's locale data: patterns and symbols per (language, currency, digits)
        "core.formatting._locale": PURE,
        "core.formatting._symbols": PURE,
        "core.formatting._money_template": PURE,
        "core.formatting._date_pattern": PURE,
        "core.formatting._time_pattern": PURE,
        # a zone's offset changes since 1970, from zoneinfo
        "core.timezones.offset_changes": PURE,
        # Unicode's case mapping, built once (0.1 s)
        "core.db.trigram._lowering_to": PURE,
        # an argon2 hasher per cost, and one throwaway hash per hasher to check unknown
        # logins against (its value does not matter, only its cost)
        "core.base.security._hasher": PURE,
        "core.base.security._dummy_hash": PURE,
        # whether the test server answers; the templates of the run (core.testing)
        "core.testing.databases._PG_STATE": TEST_RUN,
        "core.testing.templates._active": TEST_RUN,
    }
)
# Calls that make a mutable container.
MUTABLE_CALLS = frozenset(
    {
        "dict",
        "list",
        "set",
        "bytearray",
        "OrderedDict",
        "defaultdict",
        "deque",
        "Counter",
        "ChainMap",
        "WeakKeyDictionary",
        "WeakValueDictionary",
        "WeakSet",
        "local",  # threading.local
    }
)
MEMOISERS = frozenset({"lru_cache", "cache"})  # functools'
_MUTABLE_NODES = MappingProxyType(
    {
        ast.Dict: "dict",
        ast.List: "list",
        ast.Set: "set",
        ast.DictComp: "dict",
        ast.ListComp: "list",
        ast.SetComp: "set",
    }
)


def orm_private_names(orm_dir: Path | None = None) -> set[str]:
    """``_names`` the ORM's classes define (methods, class and instance attributes), but for
    the model declarations."""
    names: set[str] = set()
    for path in sorted((orm_dir or CORE_DIR / "orm").glob("*.py")):
        names |= _defined_names(ast.parse(path.read_text(encoding="utf-8"), str(path)))
    return {n for n in names if _private(n)} - MODEL_DECLARATIONS


def private_orm_violations(paths, root: Path, orm_dir: Path | None = None) -> list[str]:
    """Uses of the ORM's private attributes (``records._fetch_plan()``) in ``paths``: outside
    ``core/orm`` only the public methods and the model declarations are used. A module's own
    names do not count (its classes' private attributes, an override of an ORM method)."""
    private = orm_private_names(orm_dir)
    problems = []
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        own = _defined_names(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in private and node.attr not in own:
                problems.append(
                    f"{path.relative_to(root)}:{node.lineno}: uses {node.attr}, a private "
                    "attribute of the ORM; use its public API (docs/writing-addons.md)"
                )
    return problems


def private_template_violations(paths, root: Path, orm_dir: Path | None = None) -> list[str]:
    """The same check on Jinja templates (``record._field_visible(...)`` in an expression)."""
    private = orm_private_names(orm_dir)
    problems = []
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for name in re.findall(r"\.(_[A-Za-z]\w*)", line):
                if name in private:
                    problems.append(
                        f"{path.relative_to(root)}:{number}: uses {name}, a private "
                        "attribute of the ORM; use its public API (docs/writing-addons.md)"
                    )
    return problems


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _defined_names(tree) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    names.add(item.name)
                elif isinstance(item, ast.Assign | ast.AnnAssign):
                    targets = item.targets if isinstance(item, ast.Assign) else [item.target]
                    names |= {t.id for t in targets if isinstance(t, ast.Name)}
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Store)
            and isinstance(node.value, ast.Name)
            and node.value.id in ("self", "cls")
        ):
            names.add(node.attr)
    return names


def _called_name(node) -> str | None:
    func = node.func if isinstance(node, ast.Call) else node
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return None


def _mutable_kind(value) -> str | None:
    for kind, label in _MUTABLE_NODES.items():
        if isinstance(value, kind):
            return label
    if isinstance(value, ast.Call) and _called_name(value) in MUTABLE_CALLS:
        return f"{_called_name(value)}()"
    return None


def _module_level(body):
    """Statements run at import time: the module's, and those under its ``if``/``try``/``with``."""
    for node in body:
        yield node
        if isinstance(node, ast.If | ast.With):
            yield from _module_level(node.body)
            yield from _module_level(getattr(node, "orelse", []))
        elif isinstance(node, ast.Try):
            yield from _module_level(node.body)
            yield from _module_level(node.orelse)
            yield from _module_level(node.finalbody)
            for handler in node.handlers:
                yield from _module_level(handler.body)


def _targets(node):
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    for target in targets:
        for leaf in ast.walk(target):
            if isinstance(leaf, ast.Name):
                yield leaf.id


def state_of(path: Path, root: Path):
    """``(line, name, what)`` of every module-level mutable container and memoised
    function in one file (``__dunder__`` names such as ``__all__`` excepted)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in _module_level(tree.body):
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            kind = _mutable_kind(node.value)
            if kind:
                found.extend(
                    (node.lineno, name, f"a module-level {kind}")
                    for name in _targets(node)
                    if not (name.startswith("__") and name.endswith("__"))
                )
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in node.decorator_list:
                if _called_name(decorator) in MEMOISERS:
                    found.append((node.lineno, node.name, f"memoised by {_called_name(decorator)}"))
    return found


def state_violations(core_dir: Path = CORE_DIR, allowed=STATE_ALLOWED) -> list[str]:
    """Module-level state in ``core`` that ``allowed`` does not list, as ``file:line: ...``;
    entries of ``allowed`` that match nothing are reported too (so the list stays short)."""
    root = core_dir.parent
    problems, used = [], set()
    for path in core_files(core_dir):
        module = module_name(path, root)
        for line, name, what in state_of(path, root):
            key = f"{module}.{name}"
            if key in allowed:
                used.add(key)
                continue
            problems.append(
                f"{path.relative_to(root)}:{line}: {name} is {what}: keep state on the "
                f"registry, the database or the app; freeze a constant table (tuple, "
                f"frozenset, MappingProxyType); or list it in STATE_ALLOWED with a reason"
            )
    problems.extend(
        f"STATE_ALLOWED lists {key}, which is not module-level state any more"
        for key in sorted(set(allowed) - used)
    )
    return problems


if __name__ == "__main__":
    found = layer_violations() + state_violations()
    print("\n".join(found) or "no layering problems")
    sys.exit(1 if found else 0)
