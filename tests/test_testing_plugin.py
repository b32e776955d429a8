"""Kontora's pytest plugin (core.testing): an addon developed outside this repository tests
itself with the plugin's fixtures alone; templates are keyed by what an install writes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from core.testing import TemplateAddonManager
from core.testing.templates import active_templates, template_key

OUTSIDE = Path(__file__).resolve().parent / "fixtures" / "outside"


def test_an_addon_outside_the_repository_tests_itself_with_the_plugin(tmp_path):
    project = tmp_path / "acme"
    shutil.copytree(OUTSIDE, project)
    # A pytest of its own: not a worker of this run, nor taking turns with it.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PYTEST_") and k != "KONTORA_TEST_TURNS"
    }
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:xdist"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    kinds = len(
        [k for k in os.environ.get("KONTORA_TEST_DBS", "sqlite,postgresql").split(",") if k]
    )
    assert f"{4 * kinds} passed" in result.stdout.splitlines()[-1], result.stdout


def test_the_same_installed_state_is_built_once_and_copied(make_config):
    templates = active_templates()
    built = templates.built
    first = TemplateAddonManager(make_config()).install(["fx_orm"])
    second = TemplateAddonManager(make_config()).install(["fx_orm"])
    assert first.db.database != second.db.database
    assert templates.built - built <= 1  # none when an earlier test of the run built it
    with second.transaction() as env:
        assert "fx_orm" in env["ir.module.module"].search([]).mapped("name")


def test_an_edited_addon_gets_a_new_template(make_config, tmp_path):
    shutil.copytree(OUTSIDE / "addons", tmp_path / "addons")
    manager = TemplateAddonManager(make_config(paths=[tmp_path / "addons"]))
    before = template_key(manager, ["acme_notes"], False)
    assert template_key(manager, ["acme_notes"], True) != before  # demo data or not
    models = tmp_path / "addons" / "acme_notes" / "models.py"
    models.write_text(models.read_text() + "\n# edited\n")
    assert template_key(manager, ["acme_notes"], False) != before
