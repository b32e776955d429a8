"""Outside ``core/orm`` nobody touches the ORM's private attributes: the REST fast path, the
web client, imports and exports and the addons use its public methods."""

from __future__ import annotations

from core import layers
from tests.conftest import ROOT
from tests.test_layers import _tree


def _product_code():
    files = [p for p in (ROOT / "core").rglob("*.py") if "orm" not in p.relative_to(ROOT).parts]
    files += [p for p in (ROOT / "addons").rglob("*.py") if "tests" not in p.parts]
    files.append(ROOT / "cli.py")
    return sorted(p for p in files if "__pycache__" not in p.parts)


def test_no_module_outside_the_orm_uses_its_private_attributes():
    problems = layers.private_orm_violations(_product_code(), ROOT)
    assert not problems, "\n".join(problems)


def test_no_template_uses_the_orms_private_attributes():
    templates = sorted((ROOT / "core").rglob("*.html")) + sorted((ROOT / "addons").rglob("*.html"))
    assert templates
    problems = layers.private_template_violations(templates, ROOT)
    assert not problems, "\n".join(problems)


def test_the_private_attribute_check_knows_the_fast_path_helpers():
    private = layers.orm_private_names()
    assert {"_fetch_plan", "_store_rows", "_browse", "_query", "_read_column"} <= private
    assert not private & {"_name", "_fields", "_order", "_description"}


def test_the_private_attribute_check_fails_on_a_reach_into_the_orm(tmp_path):
    root = _tree(
        tmp_path,
        {
            "core/orm/models.py": """
                class Model:
                    _name = None
                    def _fetch_plan(self):
                        return self._plan_cache
                    def read(self):
                        self._plan_cache = {}
            """,
            "core/rest/search.py": """
                def page(records):
                    return records._fetch_plan(), records._name, records.read()
            """,
            "core/web/templates/form.html": "{% if record._fetch_plan() %}{{ record._name }}{% endif %}",
            "addons/shop/models.py": """
                class Order:
                    def _fetch_plan(self):  # an override of the ORM's method is its own
                        return super()._fetch_plan()
                def peek(records):
                    return records._plan_cache
            """,
        },
    )
    files = sorted(root.rglob("*.py"))
    files = [f for f in files if "orm" not in f.relative_to(root).parts]
    found = layers.private_orm_violations(files, root, root / "core" / "orm")
    html = sorted(root.rglob("*.html"))
    assert layers.private_template_violations(html, root, root / "core" / "orm") == [
        "core/web/templates/form.html:1: uses _fetch_plan, a private attribute of the ORM; "
        "use its public API (docs/writing-addons.md)"
    ]
    assert found == [
        "addons/shop/models.py:6: uses _plan_cache, a private attribute of the ORM; "
        "use its public API (docs/writing-addons.md)",
        "core/rest/search.py:3: uses _fetch_plan, a private attribute of the ORM; "
        "use its public API (docs/writing-addons.md)",
    ]
