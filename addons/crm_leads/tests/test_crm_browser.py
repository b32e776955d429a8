"""In a real browser (Chromium): a website lead is converted, dragged along the pipeline, won."""

import shutil
import threading
import urllib.parse
import urllib.request

import pytest
from werkzeug.serving import make_server

PASSWORD = "a-long-password-1"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed"),
]


@pytest.fixture
def server(world):
    """The application served on a free loopback port for the browser."""
    app = world.client.application
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def page():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.set_default_timeout(15_000)
        yield page
        browser.close()


def test_salesman_converts_drags_and_wins_a_website_lead_in_the_browser(world, server, page):
    with world.registry.transaction() as env:
        env["res.users"].browse(world.uids["sales_a"]).set_password(PASSWORD)
        qualified = env.ref("crm_leads.stage_lead2").id
    form = urllib.parse.urlencode(
        {
            "fio": "Ирина Лебедева",
            "company": "ООО «Клён»",
            "tel": "+7 926 000-00-07",
            "utm_source": "google",
        }
    ).encode()
    request = urllib.request.Request(f"{server}/crm/webform/{world.webform_key}", data=form)
    request.add_header("Accept", "application/json")
    with urllib.request.urlopen(request) as response:
        assert response.status == 201
    env = world.registry.env(su=True)
    lead = env["crm.lead"].search([("contact_name", "=", "Ирина Лебедева")])
    assert lead.user_id.login == "sales_a"

    page.goto(f"{server}/web/login")
    page.fill("#login", "sales_a")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/")

    page.goto(f"{server}/web/crm.lead/{lead.id}?action=crm_leads.action_leads")
    with page.expect_navigation():
        page.click("button[data-call=action_convert]")
    lead.invalidate_recordset()
    deal = lead.converted_opportunity_id
    assert lead.status == "converted" and deal.stage_id.name == "New"

    page.goto(f"{server}/web/crm.lead?action=crm_leads.action_pipeline&view=kanban")
    card = page.locator(f"article.card[data-id='{deal.id}']")
    card.drag_to(page.locator(f"section.kcol[data-key='{qualified}']"))
    page.wait_for_function(
        f"document.querySelector(\"section.kcol[data-key='{qualified}'] article.card[data-id='{deal.id}']\")"
    )
    deal.invalidate_recordset()
    assert deal.stage_id.name == "Qualified"

    page.goto(f"{server}/web/crm.lead/{deal.id}?action=crm_leads.action_pipeline")
    with page.expect_navigation():
        page.click("button[data-call=action_set_won]")
    deal.invalidate_recordset()
    assert (deal.won_status, deal.stage_id.name) == ("won", "Won")
    history = env["crm.stage.history"].search([("lead_id", "=", deal.id)])
    assert history.mapped("stage_id.name") == ["New", "Qualified", "Won"]
