"""The addon tutorial, docs/writing-addons.md: its code is the real code, and it runs.

The code blocks that show a file (first line ``# file: <path>``) must equal that file,
excerpts (``# from: <path>``) must appear in it word for word, and every line of the
tutorial's addons must be shown somewhere. The ``pycon`` sessions are run as doctests,
and the tutorial's example is run again step by step, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime
import doctest
import logging
import re
from decimal import Decimal
from pathlib import Path

import pytest

from core.db.schema import drop_column
from core.exceptions import UserError, ValidationError
from core.modules.manager import AddonManager

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "writing-addons.md"
TUTORIAL_ADDONS = ROOT / "docs" / "tutorial" / "addons"

_FENCE_RE = re.compile(r"^```([\w-]*)\n(.*?)^```$", re.M | re.S)
_SESSION_RE = re.compile(r"<!-- session: ([\w, ]+) -->\s*$")


def code_blocks():
    """``(line number, language, body, the line before the fence)`` of each fenced block."""
    text = DOC.read_text(encoding="utf-8")
    blocks = []
    for match in _FENCE_RE.finditer(text):
        start = text.count("\n", 0, match.start()) + 1
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        blocks.append((start, match.group(1), match.group(2), before))
    return blocks


def shown_files():
    """``{path: [(kind, content, line)]}`` for the blocks marked ``# file:`` or ``# from:``."""
    shown = {}
    for line, _lang, body, _before in code_blocks():
        first, _, content = body.partition("\n")
        marker = re.match(r"^(?:#|//) (file|from): (\S+)$", first)
        if marker:
            kind, path = marker.groups()
            shown.setdefault(path, []).append((kind, content, line))
    return shown


# -- the document shows the real code -----------------------------------------------------------


def test_whole_file_blocks_equal_the_files():
    checked = 0
    for path, blocks in shown_files().items():
        for kind, content, line in blocks:
            if kind == "file":
                actual = (ROOT / path).read_text(encoding="utf-8")
                assert content == actual, f"{DOC.name}:{line}: the block differs from {path}"
                checked += 1
    assert checked, f"{DOC.name} shows no whole file"


def test_excerpts_appear_in_their_files():
    for path, blocks in shown_files().items():
        actual = (ROOT / path).read_text(encoding="utf-8")
        for kind, content, line in blocks:
            if kind == "from":
                assert content.strip("\n") in actual, f"{DOC.name}:{line}: not in {path}"


def test_every_line_of_the_tutorial_addons_is_shown():
    shown = shown_files()
    for file in sorted(TUTORIAL_ADDONS.rglob("*")):
        if not file.is_file() or "__pycache__" in file.parts:
            continue
        path = file.relative_to(ROOT).as_posix()
        assert path in shown, f"{path} is not shown in {DOC.name}"
        lines_shown = {ln for _kind, content, _line in shown[path] for ln in content.splitlines()}
        missing = [
            ln for ln in file.read_text(encoding="utf-8").splitlines() if ln not in lines_shown
        ]
        assert not missing, f"{path}: lines not shown in {DOC.name}: {missing}"


# -- fixtures: the tutorial's addons on a fresh database of each kind -----------------------------------


@pytest.fixture
def tutorial(make_config):
    """An AddonManager whose addons path is the tutorial's folder."""
    manager = AddonManager(make_config(paths=[TUTORIAL_ADDONS]))
    yield manager
    if not manager.db.is_closed():
        manager.db.close()


@pytest.fixture
def helpdesk(tutorial):
    """The registry after ``kontora addons install helpdesk --demo``."""
    return tutorial.install(["helpdesk"], demo=True)


@pytest.fixture
def sla(tutorial, helpdesk):
    """The registry once helpdesk_sla is installed on top of helpdesk."""
    return tutorial.install(["helpdesk_sla"])


# -- the sessions in the document run as shown ------------------------------------------------------------


def sessions():
    """``{session: [(line, body)]}`` of the pycon blocks; each must name its session."""
    found = {}
    for line, lang, body, before in code_blocks():
        if lang != "pycon":
            continue
        marker = _SESSION_RE.search(before)
        assert marker, f"{DOC.name}:{line}: a pycon block needs <!-- session: NAME --> above it"
        found.setdefault(marker.group(1), []).append((line, body))
    return found


def run_session(blocks, globs):
    """Run pycon blocks as doctests sharing ``globs``; numbers are this year's."""
    parser = doctest.DocTestParser()
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    year = str(datetime.date.today().year)
    for line, body in blocks:
        test = parser.get_doctest(
            body.replace("HD/2026/", f"HD/{year}/"), globs, DOC.name, str(DOC), line
        )
        runner = doctest.DocTestRunner(optionflags=flags)
        report = []
        runner.run(test, out=report.append, clear_globs=False)
        assert not runner.failures, "".join(report)
        globs.update(test.globs)  # a DocTest works on a copy: carry names to the next block


def test_the_shell_sessions_run_as_shown(tutorial, helpdesk):
    found = sessions()
    assert set(found) == {"helpdesk", "helpdesk_sla"}
    run_session(found["helpdesk"], {"registry": helpdesk, "env": helpdesk.env(su=True)})
    # As in the tutorial: install the extension, then start a new shell.
    registry = tutorial.install(["helpdesk_sla"])
    run_session(found["helpdesk_sla"], {"registry": registry, "env": registry.env(su=True)})


# -- the tutorial's example, step by step ------------------------------------------------------------


def test_install_loads_stages_sequence_and_demo_tickets(helpdesk):
    env = helpdesk.env(su=True)
    stages = env["helpdesk.stage"].search([])
    assert stages.mapped("name") == ["New", "In progress", "Waiting for the customer", "Solved"]
    assert env.ref("helpdesk.stage_solved").is_closed
    assert env.ref("helpdesk.seq_ticket").prefix == "HD/%(year)s/"
    printer = env.ref("helpdesk.ticket_printer")
    assert printer.user_id == env.ref("base.user_admin")
    assert printer.tag_ids == env.ref("helpdesk.tag_hardware")
    assert printer.hours_spent == 2.0
    assert printer.cost_total == 60
    year = datetime.date.today().year
    numbers = env["helpdesk.ticket"].search([], order="number").mapped("number")
    assert numbers == [f"HD/{year}/0001", f"HD/{year}/0002", f"HD/{year}/0003"]


def test_ticket_gets_the_next_number_and_the_first_open_stage(helpdesk):
    with helpdesk.transaction() as env:
        tickets = env["helpdesk.ticket"].create([{"name": "VPN drops"}, {"name": "Mail bounces"}])
        assert tickets.mapped("number") == [
            f"HD/{datetime.date.today().year}/{n:04d}" for n in (4, 5)
        ]
        assert tickets.mapped("stage_id.name") == ["New"]
        assert tickets.mapped("priority") == ["1", "1"]


def test_totals_follow_the_time_lines(helpdesk):
    with helpdesk.transaction() as env:
        ticket = env["helpdesk.ticket"].create(
            {
                "name": "Laptop does not boot",
                "line_ids": [{"name": "Diagnosis", "hours": 1.0, "cost": 30}],
            }
        )
        assert (ticket.hours_spent, ticket.cost_total) == (1.0, 30)
        ticket.write({"line_ids": [(0, 0, {"name": "New disk", "hours": 2.5, "cost": 75.25})]})
        assert (ticket.hours_spent, ticket.cost_total) == (3.5, Decimal("105.25"))
        ticket.line_ids[0].hours = 0.5
        assert ticket.hours_spent == 3.0
        ticket.line_ids[1].unlink()
        assert (ticket.hours_spent, ticket.cost_total) == (0.5, 30)
    # Stored: the database has the totals, so they can be searched and grouped.
    env = helpdesk.env(su=True)
    assert env["helpdesk.ticket"].search([("hours_spent", "=", 0.5)]) == ticket.with_env(env)


def test_action_close_moves_the_ticket_to_the_closing_stage(helpdesk):
    with helpdesk.transaction() as env:
        ticket = env.ref("helpdesk.ticket_invoice")
        ticket.action_close()
        assert ticket.stage_id == env.ref("helpdesk.stage_solved")
        assert ticket.date_closed is not None


def test_action_close_without_a_closing_stage_is_refused(helpdesk):
    with pytest.raises(UserError, match="no closing stage"), helpdesk.transaction() as env:
        env.ref("helpdesk.stage_solved").write({"is_closed": False})
        env.ref("helpdesk.ticket_invoice").action_close()
    assert helpdesk.env(su=True).ref("helpdesk.stage_solved").is_closed


def test_a_bad_email_is_refused_and_nothing_is_written(helpdesk):
    refused = pytest.raises(ValidationError, match="is not an e-mail address")
    with refused as caught, helpdesk.transaction() as env:
        env["helpdesk.ticket"].create({"name": "Help", "customer_email": "anna at example"})
    assert caught.value.field == "customer_email"
    env = helpdesk.env(su=True)
    assert env["helpdesk.ticket"].search_count([("name", "=", "Help")]) == 0
    # The number was not used up either: the sequence rolled back with the ticket.
    assert env["helpdesk.ticket"].create({"name": "Help"}).number.endswith("/0004")


def test_time_lines_must_cover_up_to_a_day(helpdesk):
    with pytest.raises(ValidationError, match="0 to 24 hours"), helpdesk.transaction() as env:
        env.ref("helpdesk.ticket_printer").write({"line_ids": [{"name": "All week", "hours": 40}]})


def test_ticket_numbers_and_tag_names_are_unique(helpdesk):
    existing = helpdesk.env(su=True).ref("helpdesk.ticket_printer").number
    with (
        pytest.raises(ValidationError, match="Another ticket has this number"),
        helpdesk.transaction() as env,
    ):
        env["helpdesk.ticket"].create({"name": "Copy", "number": existing})
    with (
        pytest.raises(ValidationError, match="A tag with this name already exists"),
        helpdesk.transaction() as env,
    ):
        env["helpdesk.tag"].create({"name": "Hardware"})


def test_archived_tickets_leave_searches_but_stay(helpdesk):
    with helpdesk.transaction() as env:
        env.ref("helpdesk.ticket_password").action_archive()
    env = helpdesk.env(su=True)
    assert env["helpdesk.ticket"].search_count([]) == 2
    assert env["helpdesk.ticket"].with_context(active_test=False).search_count([]) == 3


def test_search_with_domains_and_read_group(helpdesk):
    env = helpdesk.env(su=True)
    Ticket = env["helpdesk.ticket"]
    open_hardware = Ticket.search(
        [("stage_id.is_closed", "=", False), ("tag_ids.name", "=", "Hardware")]
    )
    assert open_hardware == env.ref("helpdesk.ticket_printer")
    either = Ticket.search(["|", ("priority", "=", "0"), ("customer_email", "ilike", "BORIS")])
    assert either.mapped("customer_email") == ["boris@example.com", "vera@example.com"]
    groups = Ticket.read_group([], ["stage_id"], ["hours_spent:sum", "cost_total:sum", "__count"])
    assert [
        (g["stage_id"][1], g["__count"], g["hours_spent:sum"], g["cost_total:sum"]) for g in groups
    ] == [
        ("New", 1, 0.0, 0),
        ("In progress", 1, 2.0, 60),
        ("Solved", 1, 0.25, 7.5),
    ]


def test_record_created_hook_hears_of_new_tickets(helpdesk, caplog):
    logged = caplog.at_level(logging.INFO, logger="kontora_addons.helpdesk")
    with logged, helpdesk.transaction() as env:
        ticket = env["helpdesk.ticket"].create({"name": "Scanner is slow"})
        env["helpdesk.tag"].create({"name": "Scanner"})  # another model: the hook ignores it
    messages = [r.getMessage() for r in caplog.records if r.name == "kontora_addons.helpdesk"]
    assert messages == [f"new helpdesk tickets: {ticket.number}"]


# -- extending: helpdesk_sla -----------------------------------------------------------------------------


def test_sla_adds_fields_and_both_create_overrides_run(sla):
    with sla.transaction() as env:
        urgent, normal = env["helpdesk.ticket"].create(
            [{"name": "Server room is flooding", "priority": "3"}, {"name": "New keyboard"}]
        )
        assert urgent.number.endswith("/0004")  # helpdesk's create ran
        for ticket, hours in ((urgent, 2), (normal, 24)):  # helpdesk_sla's create ran
            waited = ticket.sla_deadline - ticket.create_date
            assert round(waited / datetime.timedelta(hours=1)) == hours
    columns = {c.name for c in sla.db.get_columns("helpdesk_ticket")}
    assert {"sla_deadline", "sla_failed"} <= columns


def test_sla_marks_tickets_closed_after_their_deadline(sla):
    with sla.transaction() as env:
        late, on_time = env["helpdesk.ticket"].create(
            [{"name": "Late", "sla_deadline": "2026-01-05 09:00:00"}, {"name": "On time"}]
        )
        (late | on_time).action_close()
        assert (late | on_time).mapped("stage_id.name") == ["Solved"]  # helpdesk's action_close ran
        assert (late.sla_failed, on_time.sla_failed) == (True, False)


def test_uninstalling_sla_drops_its_columns_and_keeps_the_tickets(tutorial, sla):
    registry = tutorial.uninstall(["helpdesk_sla"])
    columns = {c.name for c in registry.db.get_columns("helpdesk_ticket")}
    assert not {"sla_deadline", "sla_failed"} & columns
    assert registry.env(su=True)["helpdesk.ticket"].search_count([]) == 3


# -- upgrading to 1.1 ------------------------------------------------------------------------------------


def rewind_to_1_0(registry):
    """Make the database look as helpdesk 1.0 left it: no date_closed column, version 1.0."""
    with registry.transaction() as env:
        Ticket = env["helpdesk.ticket"]
        drop_column(registry, Ticket, Ticket._fields["date_closed"])
        env["ir.module.module"].search([("name", "=", "helpdesk")]).write({"latest_version": "1.0"})


def test_upgrade_to_1_1_fills_date_closed_and_keeps_noupdate_records(tutorial, helpdesk):
    with helpdesk.transaction() as env:
        env.ref("helpdesk.stage_in_progress").name = "Doing"  # comes back on upgrade
        env.ref("helpdesk.seq_ticket").prefix = "SUP/"  # noupdate: the admin's choice stays
        solved_at = env.ref("helpdesk.ticket_password").write_date
    rewind_to_1_0(helpdesk)
    assert "date_closed" not in {c.name for c in helpdesk.db.get_columns("helpdesk_ticket")}
    assert [addon.name for addon in tutorial.plan_upgrade()] == ["helpdesk"]

    registry = tutorial.upgrade(["helpdesk"])

    env = registry.env(su=True)
    assert tutorial.state()["helpdesk"]["version"] == "1.1"
    assert env.ref("helpdesk.ticket_password").date_closed == solved_at
    assert env.ref("helpdesk.ticket_printer").date_closed is None
    assert env.ref("helpdesk.stage_in_progress").name == "In progress"
    assert env.ref("helpdesk.seq_ticket").prefix == "SUP/"
    assert env["helpdesk.ticket"].create({"name": "After the upgrade"}).number == "SUP/0004"
