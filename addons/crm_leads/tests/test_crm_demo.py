"""Demo data, the data generator on the command line, and uninstalling the addon."""

import os
import subprocess
import sys

from tests.conftest import ROOT


def test_demo_install_brings_leads_deals_activities_and_plans(shipped):
    registry = shipped.install(["crm_leads"], demo=True)
    env = registry.env(su=True)
    Lead = env["crm.lead"].with_context(active_test=False)
    assert Lead.search_count([("type", "=", "lead")]) == 200
    assert Lead.search_count([("type", "=", "opportunity")]) == 100
    outcomes = {
        g["won_status"] for g in Lead.read_group([("type", "=", "opportunity")], ["won_status"])
    }
    assert outcomes == {"pending", "won", "lost"}
    assert len(Lead.search([("source_id", "!=", False)]).mapped("source_id")) >= 3
    names = Lead.search([], limit=20).mapped("contact_name")
    assert all(any("а" <= ch <= "я" for ch in name.lower()) for name in names)
    assert env["mail.activity"].search_count([("res_model", "=", "crm.lead")]) == 150
    assert env["crm.plan"].search_count([]) >= 3
    team = env.ref("crm_leads.team_sales_department")
    assert team.assignment_mode == "round_robin" and len(team.member_ids) >= 3


def kontora(config, *args):
    environ = {
        **os.environ,
        "KONTORA_DATABASE_URL": config.database_url,
        "KONTORA_ADDONS_PATHS": os.pathsep.join(str(p) for p in config.addons_paths),
        "KONTORA_JOBS_BACKEND": "immediate",
    }
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )


def test_kontora_demo_generate_writes_exactly_what_was_asked(shipped, crm):
    done = kontora(
        shipped.config,
        "demo",
        "generate",
        "--partners",
        "30",
        "--leads",
        "500",
        "--opportunities",
        "120",
        "--activities",
        "40",
    )
    assert done.returncode == 0, done.stderr
    assert "Generated 30 partners, 500 leads, 120 opportunities, 40 activities" in done.stdout
    env = crm.env(su=True)
    Lead = env["crm.lead"].with_context(active_test=False)
    assert Lead.search_count([("type", "=", "lead")]) == 500
    assert Lead.search_count([("type", "=", "opportunity")]) == 120
    assert env["res.partner"].search_count([("is_company", "=", True)]) == 30
    assert env["mail.activity"].search_count([]) == 40
    # Every deal has its first stage in the history.
    assert env["crm.stage.history"].search_count([]) == 120


def test_kontora_demo_generate_without_numbers_is_a_usage_error(shipped, crm):
    done = kontora(shipped.config, "demo", "generate")
    assert done.returncode == 2
    assert "Say how many" in done.stderr
    assert "Traceback" not in done.stderr


def test_uninstalling_crm_leads_drops_its_tables_and_keeps_the_partners(shipped, crm):
    with crm.transaction() as env:
        env["res.partner"].create({"name": "ООО «Остаётся»", "is_company": True})
        env["crm.lead"].create({"name": "Уйдёт", "type": "opportunity"})
    registry = shipped.uninstall(["crm_leads"])
    tables = set(registry.db.get_tables())
    assert not {t for t in tables if t.startswith(("crm_", "utm_"))}
    assert registry.env(su=True)["res.partner"].search_count([("name", "=", "ООО «Остаётся»")]) == 1
    assert "crm.lead" not in registry.models
