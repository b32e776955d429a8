"""The core's layers hold: imports go down, no circles, addons use only the public API."""

from __future__ import annotations

import textwrap

import core
from core import layers
from tests.conftest import ROOT


def test_core_imports_follow_the_layers():
    problems = layers.layer_violations()
    assert not problems, "\n".join(problems)


def test_shipped_addons_use_only_the_public_api():
    dirs = [d for d in (ROOT / "addons").iterdir() if d.is_dir()]
    dirs += [ROOT / "tests" / "fixtures" / "addons", ROOT / "docs" / "tutorial" / "addons"]
    dirs += [ROOT / "bench" / "addons", ROOT / "tests" / "fixtures" / "outside"]
    code = [d for d in dirs if d.is_dir()]
    problems = layers.public_api_violations(code, ROOT)
    assert not problems, "\n".join(problems)


def test_every_public_name_resolves():
    for name in core.__all__:
        assert getattr(core, name) is not None, name
    assert set(core.__all__) <= set(dir(core))


def _tree(tmp_path, files: dict[str, str]):
    root = tmp_path / "repo"
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text))
    return root


def test_the_layer_check_fails_on_forbidden_imports(tmp_path):
    """A copy of the rules on a small made-up core: each kind of wrong import is found."""
    root = _tree(
        tmp_path,
        {
            "core/__init__.py": "",
            "core/exceptions.py": "",
            "core/orm/__init__.py": "",
            "core/orm/models.py": "from core.orm import write\n",
            "core/orm/write.py": "from core.orm import models\n",  # a circle inside orm
            "core/orm/env.py": "from core.web import pages\n",  # up
            "core/orm/access.py": "def f():\n    from core.orm import env\n",  # hidden inside
            "core/web/__init__.py": "",
            "core/web/pages.py": "from core.rest import routes\nimport addons.crm\n",
            "core/rest/__init__.py": "",
            "core/rest/routes.py": "from core.exceptions import *\nfrom core import Model\n",
        },
    )
    found = "\n".join(layers.layer_violations(root / "core"))
    assert "core.orm.env imports core.web.pages, a higher layer" in found
    assert "core.web.pages imports core.rest.routes, a sibling layer" in found
    assert "core imports the addon addons.crm" in found
    assert "imports core.orm.env inside a function" in found
    assert "imports the public API `core`" in found
    assert "import circle: core.orm.models → core.orm.write → core.orm.models" in found
    # and the real tree has none of these
    assert not layers.layer_violations()


def test_the_public_api_check_fails_on_internal_imports(tmp_path):
    root = _tree(
        tmp_path,
        {
            "addons/shop/__init__.py": "from core import hookimpl\n",
            "addons/shop/models.py": "from core.orm.models import Model\nimport core.db.connection\n",
            "addons/shop/tests/test_shop.py": "from core.testing import *\n",
        },
    )
    found = layers.public_api_violations([root / "addons" / "shop"], root)
    assert [f.split(": ", 1)[1].split(";")[0] for f in found] == [
        "imports core.orm.models",
        "imports core.db.connection",
    ]


def test_a_layer_table_entry_for_every_package():
    packages = {
        "core." + p.name
        for p in (ROOT / "core").iterdir()
        if p.is_dir() and (p / "__init__.py").is_file()
    }
    missing = packages - set(layers.LAYERS)
    assert not missing, f"core packages without a layer: {sorted(missing)}"


def test_core_keeps_no_module_level_state():
    """Caches live on the registry, the database or the app: two registries or two apps in
    one process share nothing. What stays is on a short list, each with its reason."""
    problems = layers.state_violations()
    assert not problems, "\n".join(problems)
    assert all(reason.strip() for reason in layers.STATE_ALLOWED.values())
    assert len(layers.STATE_ALLOWED) <= 25


def test_the_state_check_fails_on_module_level_caches(tmp_path):
    root = _tree(
        tmp_path,
        {
            "core/__init__.py": "__all__ = ['a']\n",  # dunder names are the import system's
            "core/cache.py": """\
                import functools
                import threading
                import weakref
                from collections import OrderedDict
                from types import MappingProxyType

                _SEEN = {}
                NAMES: list = []
                KINDS = set()
                _BY_REGISTRY = weakref.WeakKeyDictionary()
                _pages = OrderedDict()
                _local = threading.local()
                FROZEN = MappingProxyType({"a": 1})
                CHOICES = ("a", "b")
                WORDS = frozenset({"x"})
                LIMIT = 10
                try:
                    _HIDDEN = {}
                except ImportError:
                    pass

                @functools.lru_cache(maxsize=8)
                def pattern(lang):
                    return lang

                class Thing:
                    @functools.cache
                    def method(self):
                        return {}

                def local_state():
                    kept = {}
                    return kept
                """,
            "core/orm/__init__.py": "",
            "core/orm/kept.py": "_ALLOWED = {}\n",
        },
    )
    allowed = {"core.orm.kept._ALLOWED": "a reason", "core.gone.NAME": "a reason"}
    found = "\n".join(layers.state_violations(root / "core", allowed))
    for name, what in [
        ("_SEEN", "a module-level dict"),
        ("NAMES", "a module-level list"),
        ("KINDS", "a module-level set()"),
        ("_BY_REGISTRY", "a module-level WeakKeyDictionary()"),
        ("_pages", "a module-level OrderedDict()"),
        ("_local", "a module-level local()"),
        ("_HIDDEN", "a module-level dict"),
        ("pattern", "memoised by lru_cache"),
        ("method", "memoised by cache"),
    ]:
        assert f": {name} is {what}:" in found, name
    for name in ("FROZEN", "CHOICES", "WORDS", "LIMIT", "kept", "__all__", "_ALLOWED"):
        assert f": {name} is" not in found, name
    assert "STATE_ALLOWED lists core.gone.NAME, which is not module-level state any more" in found
    assert len(found.splitlines()) == 10
