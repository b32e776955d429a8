"""The web client in a real headless Chromium (Debian's), driven by playwright.

Skipped, with the reason shown, when /usr/bin/chromium or playwright is missing; CI
installs both. Each test saves a screenshot under var/screenshots/.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest
from web_support import PASSWORD, add_salesmen, fx_web_site

from core.web.data import to_local

ROOT = Path(__file__).resolve().parent.parent

CHROMIUM = "/usr/bin/chromium"
SHOTS = ROOT / "var" / "screenshots"

REQUIRED = os.environ.get("KONTORA_TEST_REQUIRE_BROWSER") == "1"  # CI: a skip would hide a failure
if not Path(CHROMIUM).exists():
    if REQUIRED:
        raise RuntimeError(f"{CHROMIUM} is missing but KONTORA_TEST_REQUIRE_BROWSER=1")
    pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium", allow_module_level=True)
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        instance = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield instance
        instance.close()


@pytest.fixture
def server(make_config):
    """A live server on a fresh database with fx_web, salesmen Anna and Boris, and deals."""
    from werkzeug.serving import make_server

    from core.http.app import create_app

    config, registry = fx_web_site(make_config)
    with registry.transaction() as env:
        users = add_salesmen(env)
        new = env.ref("fx_web.stage_new").id
        env["fxw.deal"].create(
            [
                {
                    "name": f"{owner} deal {i}",
                    "user_id": users[owner],
                    "stage_id": new,
                    "state": "done" if i == 2 else "draft",
                    "line_ids": [(0, 0, {"name": "Item", "qty": 1, "price": str(100 * (i + 1))})],
                }
                for owner in ("anna", "boris")
                for i in range(3)
            ]
        )
    httpd = make_server("127.0.0.1", 0, create_app(config), threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", registry
    httpd.shutdown()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    yield tab
    SHOTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^\w-]+", "_", request.node.name)
    tab.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    context.close()


def sign_in(page, base, login):
    page.goto(f"{base}/web/login")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def local(value, tz="Europe/Moscow"):
    """A stored (UTC) datetime as the users' wall-clock time (they are in Moscow by default)."""
    return to_local(value, tz).strftime("%Y-%m-%d %H:%M")


def deal(registry, name):
    with registry.transaction(write=False) as env:
        return env["fxw.deal"].sudo().with_context(active_test=False).search([("name", "=", name)])


def test_sign_in_search_filter_group_and_saved_view(server, page):
    base, _registry = server
    sign_in(page, base, "anna")
    page.click("text=Deals")
    page.click("[data-view=list]")
    rows = page.locator("table.list tbody tr[data-id]")
    assert rows.count() == 3
    page.fill("input[name=q]", "deal 1")
    page.press("input[name=q]", "Enter")
    page.wait_for_load_state()
    assert page.locator("table.list tbody tr[data-id]").count() == 1
    page.fill("input[name=q]", "")
    page.click("summary:has-text('Group by')")
    page.check("label:has-text('Stage') input")
    page.wait_for_load_state()
    assert "(3)" in page.locator("tr.group").first.inner_text()
    page.click("summary:has-text('Saved views')")
    page.fill("[data-save-name]", "By stage")
    with page.expect_navigation():
        page.click("[data-save-view]")
    page.goto(f"{base}/web/fxw.deal?view=list")
    assert page.locator("tr.group").count() == 0
    page.click("summary:has-text('Saved views')")
    page.click("[data-saved='By stage']")
    page.wait_for_load_state()
    assert page.locator("tr.group").count() == 1


def test_form_line_edit_updates_the_total_and_saves(server, page):
    base, registry = server
    record = deal(registry, "anna deal 0")
    sign_in(page, base, "anna")
    page.goto(f"{base}/web/fxw.deal/{record.id}")
    page.click("[data-tab=lines]")
    page.click("[data-line-add]")
    row = page.locator("table.lines tbody tr").last
    row.locator("[data-line-field=name]").fill("Service")
    row.locator("[data-line-field=qty]").fill("2")
    row.locator("[data-line-field=price]").fill("25")
    total = page.locator("[data-field=amount_total] input")
    playwright_api.expect(total).to_have_value(re.compile(r"150"), timeout=5000)
    with page.expect_navigation():
        page.click("[data-save]")
    assert str(deal(registry, "anna deal 0").amount_total) == "150.00"


def test_conflict_message_when_someone_else_saved_first(server, page):
    base, registry = server
    record = deal(registry, "anna deal 1")
    sign_in(page, base, "anna")
    page.goto(f"{base}/web/fxw.deal/{record.id}")
    with registry.transaction() as env:
        env["fxw.deal"].with_user(env.ref("base.user_admin").id).browse(record.id).write(
            {"note": "changed meanwhile"}
        )
    page.fill("#f_name", "My new name")
    page.click("[data-save]")
    conflict = page.locator("[data-conflict]")
    playwright_api.expect(conflict).to_be_visible()
    assert "Administrator" in conflict.inner_text()
    assert deal(registry, "anna deal 1").name == "anna deal 1"
    page.click("[data-reload]")
    page.wait_for_load_state()
    assert page.locator("#f_note").input_value() == "changed meanwhile"


def _drag(page, card_selector, column_selector):
    page.drag_and_drop(card_selector, column_selector)
    page.wait_for_timeout(600)


def test_kanban_drag_moves_the_card_and_a_refused_move_springs_back(server, page):
    base, registry = server
    movable, done = deal(registry, "anna deal 0"), deal(registry, "anna deal 2")
    with registry.transaction(write=False) as env:
        won = env.ref("fx_web.stage_won").id
    sign_in(page, base, "anna")
    page.goto(f"{base}/web/fxw.deal?view=kanban")
    _drag(page, f".card[data-id='{movable.id}']", f".kcol[data-key='{won}'] header")
    page.reload()
    assert page.locator(f".kcol[data-key='{won}'] .card[data-id='{movable.id}']").count() == 1
    _drag(page, f".card[data-id='{done.id}']", f".kcol[data-key='{won}'] header")
    playwright_api.expect(page.locator("#flash")).to_be_visible()
    assert page.locator(f".kcol[data-key='{won}'] .card[data-id='{done.id}']").count() == 0
    assert deal(registry, "anna deal 2").stage_id.id != won


def test_calendar_create_event_and_graph_and_pivot(server, page):
    base, registry = server
    sign_in(page, base, "anna")
    page.goto(f"{base}/web/fxw.deal?view=calendar&mode=week&date=2026-12-02")
    page.click("td.slot[data-slot='2026-12-02T10:00']")
    page.wait_for_url(re.compile(r"/web/fxw.deal/new"))
    page.fill("#f_name", "Meeting at the client")
    page.click("[data-save]")
    page.wait_for_url(re.compile(r"/web/fxw.deal/\d+$"))
    created = deal(registry, "Meeting at the client")
    assert local(created.date_start) == "2026-12-02 10:00"  # the slot clicked, in Moscow time
    page.goto(f"{base}/web/fxw.deal?view=calendar&mode=week&date=2026-12-02")
    assert page.locator(".event", has_text="Meeting at the client").count() == 1
    page.goto(f"{base}/web/fxw.deal?view=graph")
    assert page.locator(".chart svg").count() == 1
    page.goto(f"{base}/web/fxw.deal?view=pivot")
    assert "Anna" in page.locator("table.pivot").inner_text()


def test_pivot_subtotal_rows_are_bold_and_inner_rows_indented(server, page):
    base, registry = server
    with registry.transaction() as env:
        env["fxw.deal"].search([("name", "=", "anna deal 1")]).write({"state": "confirmed"})
    sign_in(page, base, "anna")
    page.goto(f"{base}/web/fxw.deal?view=pivot&row=user_id&col=stage_id")
    # One select per level and an empty one to nest another: choose "Status" under rows.
    page.locator("select[name=row]").nth(1).select_option("state")
    page.click("form:has(select[name=row]) button[type=submit]")
    page.wait_for_url(re.compile(r"row=user_id&row=state"))
    subtotal = page.locator("table.pivot tr.pivot-subtotal")
    assert subtotal.count() == 1
    assert subtotal.locator("th").inner_text() == "Anna"
    assert subtotal.locator("td").first.evaluate("e => getComputedStyle(e).fontWeight") == "700"
    inner = page.locator("table.pivot tbody tr:not(.pivot-subtotal) th")
    assert inner.all_inner_texts() == ["Draft", "Confirmed", "Done"]
    inner_cell = page.locator("table.pivot tbody tr:not(.pivot-subtotal) td").first
    assert inner_cell.evaluate("e => getComputedStyle(e).fontWeight") == "400"
    pad = "e => parseFloat(getComputedStyle(e).paddingLeft)"
    assert inner.first.evaluate(pad) > subtotal.locator("th").evaluate(pad)


def test_custom_field_added_in_settings_works_in_a_filter(server, page):
    base, registry = server
    sign_in(page, base, "admin")
    page.goto(f"{base}/web/ir.model.fields/new")
    page.fill("#f_model", "fxw.deal")
    page.fill("#f_name", "x_region")
    page.fill("#f_field_description", "Region")
    page.select_option("#f_ttype", "char")
    page.click("[data-save]")
    page.wait_for_url(re.compile(r"/web/ir.model.fields/\d+$"))
    record = deal(registry, "boris deal 0")
    page.goto(f"{base}/web/fxw.deal/{record.id}")
    page.fill("#f_x_region", "Siberia")
    with page.expect_navigation():
        page.click("[data-save]")
    page.goto(f"{base}/web/fxw.deal?view=list")
    page.click("summary:has-text('Custom filter')")
    page.select_option("[data-cf-field]", "x_region")
    page.fill("[data-cf-value]", "Sib")
    page.click("[data-cf-add]")
    page.wait_for_load_state()
    rows = page.locator("table.list tbody tr[data-id]")
    assert rows.count() == 1 and "boris deal 0" in rows.first.inner_text()


def test_import_csv_with_two_bad_rows_shows_their_errors(server, page, tmp_path):
    base, registry = server
    rows = [
        "Name,Customer,Salesman,Stage",
        "Good one,Romashka,Anna,New",
        ",Missing name,Anna,New",
        "Good two,Vasilek,Anna,Proposal",
        "Bad stage,Lyutik,Anna,No such stage",
        "Good three,Kolokolchik,Anna,Won",
    ]
    path = tmp_path / "deals.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    sign_in(page, base, "admin")
    page.goto(f"{base}/web/fxw.deal?view=list")
    page.click("[data-import]")
    page.set_input_files("#import-file", str(path))
    with page.expect_navigation():
        page.click("button[type=submit].primary")
    with page.expect_navigation():
        page.click("button[name=action][value=import]")
    errors = page.locator("[data-import-errors] tbody tr")
    assert errors.count() == 2
    text = page.locator("[data-import-errors]").inner_text()
    assert "3" in errors.nth(0).inner_text() and "Name" in errors.nth(0).inner_text()
    assert "5" in errors.nth(1).inner_text() and "Stage" in text
    with registry.transaction(write=False) as env:
        assert not env["fxw.deal"].sudo().search([("name", "like", "Good")])  # nothing imported


def test_phone_screen_and_keyboard_save(server, browser, request):
    base, registry = server
    context = browser.new_context(viewport={"width": 390, "height": 800}, is_mobile=True)
    phone = context.new_page()
    try:
        sign_in(phone, base, "anna")
        assert not phone.locator(".sidebar").is_visible()
        phone.click("[data-toggle-menu]")
        assert phone.locator(".sidebar").is_visible()
        phone.goto(f"{base}/web/fxw.deal?view=list")
        phone.screenshot(path=str(SHOTS / "phone_list.png"), full_page=True)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 400, f"the list is {width}px wide on a 390px screen"
        record = deal(registry, "anna deal 1")
        phone.goto(f"{base}/web/fxw.deal/{record.id}")
        phone.fill("#f_name", "Saved with the keyboard")
        with phone.expect_navigation():
            phone.keyboard.press("Control+s")
        assert deal(registry, "Saved with the keyboard").id == record.id
    finally:
        SHOTS.mkdir(parents=True, exist_ok=True)
        phone.screenshot(path=str(SHOTS / "phone_form.png"), full_page=True)
        context.close()


def test_many2one_autocomplete_and_create_and_calendar_drag(server, page):
    base, registry = server
    record = deal(registry, "anna deal 1")
    sign_in(page, base, "anna")
    page.goto(f"{base}/web/fxw.deal/{record.id}")
    page.fill("[data-field=stage_id] [data-m2o-text]", "Propo")
    page.click("[data-field=stage_id] .m2o-results button:has-text('Proposal')")
    page.click("[data-tab=tags]")
    page.fill("[data-field=tag_ids] [data-m2m-text]", "Hot lead")
    page.click("[data-field=tag_ids] .m2o-results button[data-create]")
    playwright_api.expect(page.locator("[data-field=tag_ids] .tag")).to_have_count(1)
    page.fill("#f_date_start", "2026-12-03T09:00")
    with page.expect_navigation():
        page.click("[data-save]")
    saved = deal(registry, "anna deal 1")
    assert saved.stage_id.name == "Proposal" and saved.tag_ids.mapped("name") == ["Hot lead"]
    page.goto(f"{base}/web/fxw.deal?view=calendar&mode=week&date=2026-12-03")
    page.drag_and_drop(f".event[data-id='{record.id}']", "td.slot[data-slot='2026-12-04T14:00']")
    page.wait_for_timeout(600)
    assert local(deal(registry, "anna deal 1").date_start) == "2026-12-04 14:00"
