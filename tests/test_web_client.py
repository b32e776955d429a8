"""The generic web client through Flask's test client: pages, saving, conflicts, rules, views."""

from __future__ import annotations

import datetime
import html
import io
import logging
import re

import pytest
from web_support import add_salesmen, fx_web_site, signed_in

from core.http.app import create_app
from core.orm.registry import RegistryError
from core.orm.views import Field, Patch

XSS = "<script>alert(1)</script>"


@pytest.fixture
def web(make_config):
    """An app with fx_web, two salesmen (own deals) and an admin, and deals for each."""
    config, registry = fx_web_site(make_config)
    with registry.transaction() as env:
        users = add_salesmen(env)
        stage = env.ref("fx_web.stage_new").id
        deals = env["fxw.deal"].create(
            [
                {
                    "name": f"{owner} deal {i}",
                    "user_id": users[owner],
                    "stage_id": stage,
                    "line_ids": [(0, 0, {"name": "Item", "qty": 2, "price": "50.00"})],
                }
                for owner in ("anna", "boris")
                for i in range(3)
            ]
        )
        deals[0].write({"name": XSS, "date_start": datetime.datetime(2026, 12, 2, 9, 0)})
    return create_app(config), registry, users


def post(client, url, body):
    return client.post(url, json=body, headers={"X-CSRF-Token": client.token})


def deal_ids(registry, login=None):
    with registry.transaction(write=False) as env:
        domain = [("user_id.login", "=", login)] if login else []
        return env["fxw.deal"].sudo().search(domain).ids


def test_home_shows_menus_and_dashboard_widgets(web):
    app, _registry, _users = web
    page = signed_in(app, "anna").get("/").text
    assert "Deals" in page and "/web/fxw.deal?action=fx_web.action_deals" in page
    assert 'data-widget="fx_web.deals"' in page
    assert re.search(r'class="big">\s*3\s*<', page), "the widget counts only Anna's deals"


def test_list_search_filter_group_and_totals_follow_the_rules(web):
    app, _registry, _users = web
    client = signed_in(app, "anna")
    page = client.get("/web/fxw.deal?view=list").text
    assert "anna deal 1" in page and "boris deal" not in page
    assert "Records: 3" in page or "3 records" in page
    total = re.search(r'data-total="amount_total">([^<]*)<', page).group(1)
    assert "300" in total  # three deals of 2 × 50
    found = client.get("/web/fxw.deal?view=list&q=deal 2").text
    assert "anna deal 2" in found and "anna deal 1" not in found
    grouped = client.get("/web/fxw.deal?view=list&groupby=stage_id").text
    assert "New" in grouped and "(3)" in grouped
    custom = client.get("/web/fxw.deal?view=list&where=name|ilike|deal 1").text
    assert "anna deal 1" in custom and "anna deal 2" not in custom


def test_hostile_list_parameters_get_a_clear_400(web):
    app, _registry, _users = web
    client = signed_in(app, "anna")
    for query in (
        "order=name;DROP TABLE fxw_deal",
        "where=password|=|x",
        "where=name|OR 1=1|x",
        "filter=nonexistent",
        "groupby=nonexistent",
    ):
        response = client.get(f"/web/fxw.deal?view=list&{query}")
        assert response.status_code == 400, query
    assert len(deal_ids(app.extensions["kontora"].get())) == 6


def test_names_render_as_text_in_every_view(web):
    app, registry, _users = web
    client = signed_in(app, "anna")
    first = deal_ids(registry, "anna")[0]
    for url in (
        "/web/fxw.deal?view=list",
        "/web/fxw.deal?view=kanban",
        f"/web/fxw.deal/{first}",
        "/web/fxw.deal?view=pivot&row=name",
        "/web/fxw.deal?view=graph&groupby=name",
        "/web/fxw.deal?view=calendar&mode=week&date=2026-12-02",
        "/web/fxw.deal?view=calendar&mode=month&date=2026-12-02",
        "/web/fxw.deal?view=list&groupby=name",
    ):
        page = client.get(url).text
        assert XSS not in page, url
        assert html.escape(XSS) in page or "&lt;script&gt;" in page, url


def test_form_saves_lines_and_total_and_refuses_a_stale_write(web):
    app, registry, _users = web
    client = signed_in(app, "anna")
    deal = deal_ids(registry, "anna")[1]
    page = client.get(f"/web/fxw.deal/{deal}").text
    write_date = re.search(r'data-write-date="([^"]*)"', page).group(1)
    with registry.transaction(write=False) as env:
        line = env["fxw.deal"].sudo().browse(deal).line_ids.id
    preview = post(
        client,
        "/web/fxw.deal/onchange",
        {
            "id": deal,
            "values": {"line_ids": [{"id": line, "name": "Item", "qty": "3", "price": "50"}]},
            "fields": ["amount_total"],
        },
    )
    assert preview.status_code == 200 and "150" in preview.json["values"]["amount_total"]
    with registry.transaction(write=False) as env:
        assert env["fxw.deal"].sudo().browse(deal).amount_total == 100  # preview wrote nothing
    saved = post(
        client,
        f"/web/fxw.deal/{deal}/save",
        {
            "write_date": write_date,
            "values": {
                "name": "Renamed",
                "line_ids": [
                    {"id": line, "name": "Item", "qty": "3", "price": "50"},
                    {"name": "Extra", "qty": "1", "price": "25.50"},
                ],
            },
        },
    )
    assert saved.status_code == 200, saved.json
    with registry.transaction(write=False) as env:
        record = env["fxw.deal"].sudo().browse(deal)
        assert (record.name, str(record.amount_total)) == ("Renamed", "175.50")
    other = signed_in(app, "admin")
    stale = post(
        other, f"/web/fxw.deal/{deal}/save", {"write_date": write_date, "values": {"name": "Mine"}}
    )
    assert stale.status_code == 409
    assert "changed by Anna" in stale.json["error"]["message"]
    with registry.transaction(write=False) as env:
        assert env["fxw.deal"].sudo().browse(deal).name == "Renamed"


def test_buttons_call_public_methods_and_show_their_errors(web):
    app, registry, _users = web
    client = signed_in(app, "anna")
    deal = deal_ids(registry, "anna")[1]
    assert post(client, f"/web/fxw.deal/{deal}/call/action_confirm", {}).status_code == 200
    failed = post(client, f"/web/fxw.deal/{deal}/call/action_fail", {})
    assert failed.status_code == 422 and "cannot fail" in failed.json["error"]["message"]
    for method in ("unlink", "_compute_total", "write", "sudo"):
        assert post(client, f"/web/fxw.deal/{deal}/call/{method}", {}).status_code == 404
    with registry.transaction(write=False) as env:
        assert env["fxw.deal"].sudo().browse(deal).state == "confirmed"


def test_salesman_cannot_open_or_change_another_salesmans_deal(web):
    app, registry, _users = web
    client = signed_in(app, "anna")
    theirs = deal_ids(registry, "boris")[0]
    assert client.get(f"/web/fxw.deal/{theirs}").status_code == 404
    assert (
        post(client, f"/web/fxw.deal/{theirs}/save", {"values": {"name": "x"}}).status_code == 404
    )
    assert post(client, f"/web/fxw.deal/{theirs}/call/action_confirm", {}).status_code == 404
    moved = post(client, "/web/fxw.deal/bulk", {"ids": [theirs], "operation": "archive"})
    assert moved.status_code == 404
    kanban = client.get("/web/fxw.deal?view=kanban").text
    assert "boris deal" not in kanban
    with registry.transaction(write=False) as env:
        assert env["fxw.deal"].sudo().browse(theirs).name == "boris deal 0"


def test_kanban_move_saves_through_the_access_checked_write(web):
    app, registry, _users = web
    client = signed_in(app, "anna")
    deal = deal_ids(registry, "anna")[2]
    with registry.transaction(write=False) as env:
        won = env.ref("fx_web.stage_won").id
    board = client.get("/web/fxw.deal?view=kanban").text
    assert f'data-key="{won}"' in board and "Archive" in board
    moved = post(client, f"/web/fxw.deal/{deal}/save", {"values": {"stage_id": won}})
    assert moved.status_code == 200
    with registry.transaction(write=False) as env:
        assert env["fxw.deal"].sudo().browse(deal).stage_id.id == won


def test_bulk_actions_and_saved_views(web):
    app, registry, _users = web
    client = signed_in(app, "anna")
    ids = deal_ids(registry, "anna")[:2]
    assert (
        post(client, "/web/fxw.deal/bulk", {"ids": ids, "operation": "archive"}).status_code == 200
    )
    with registry.transaction(write=False) as env:
        assert not env["fxw.deal"].sudo().search([("id", "in", ids)])
    saved = post(
        client,
        "/web/fxw.deal/filters",
        {"name": "My big ones", "query": "view=list&filter=big", "is_default": True},
    )
    assert saved.status_code == 200
    page = client.get("/web/fxw.deal?view=list", follow_redirects=True).text
    assert "My big ones" in page and "view=list&amp;filter=big" in page
    assert 'value="big" checked' in page  # the default view was applied
    boris = signed_in(app, "boris").get("/web/fxw.deal?view=list").text
    assert "My big ones" not in boris  # saved for Anna only


def test_state_changing_routes_need_the_csrf_token(web):
    app, registry, _users = web
    client = signed_in(app, "anna")
    deal = deal_ids(registry, "anna")[1]
    for url, body in (
        (f"/web/fxw.deal/{deal}/save", {"values": {"name": "x"}}),
        (f"/web/fxw.deal/{deal}/call/action_confirm", {}),
        ("/web/fxw.deal/bulk", {"ids": [deal], "operation": "delete"}),
        ("/web/fxw.deal/filters", {"name": "x", "query": ""}),
        (f"/web/fxw.deal/{deal}/note", {"body": "x"}),
        ("/web/fxw.tag/quick_create", {"name": "x"}),
    ):
        assert client.post(url, json=body).status_code == 400, url
    with registry.transaction(write=False) as env:
        record = env["fxw.deal"].sudo().browse(deal)
        assert (record.name, record.state) == ("anna deal 1", "draft")
        assert not env["fxw.tag"].sudo().search([])


def test_graph_pivot_and_calendar_pages_render(web):
    app, _registry, _users = web
    client = signed_in(app, "anna")
    graph = client.get("/web/fxw.deal?view=graph&chart=pie").text
    assert "<svg" in graph
    pivot = client.get("/web/fxw.deal?view=pivot&row=user_id&col=stage_id").text
    assert "Anna" in pivot and "Boris" not in pivot
    csv = client.get("/web/fxw.deal/pivot.csv?row=user_id").data.decode()
    assert "Anna" in csv and "Boris" not in csv
    for mode in ("day", "week", "month"):
        assert client.get(f"/web/fxw.deal?view=calendar&mode={mode}").status_code == 200
    assert client.get("/web/fxw.deal?view=calendar&mode=year").status_code == 400


def test_a_view_naming_an_unknown_field_fails_the_build(web, monkeypatch):
    _app, registry, _users = web
    from core.orm import views

    original = views.build_views

    def broken(reg):
        result = original(reg)
        views._apply_patch(result, "fx_web", Patch("fxw.deal.form", [Field("nope")], after="name"))
        views._validate_view(reg, "fx_web", result.views["fxw.deal.form"])
        return result

    with pytest.raises(RegistryError, match="fx_web.*fxw.deal.form.*no field 'nope'"):
        broken(registry)
    with pytest.raises(RegistryError, match="no node 'missing'"):
        views._apply_patch(
            registry.views, "fx_web", Patch("fxw.deal.form", ["note"], after="missing")
        )


class _Counter(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record):
        self.count += 1


def queries(call) -> int:
    """SQL statements run by ``call`` (peewee logs each one at DEBUG)."""
    logger = logging.getLogger("peewee")
    counter, level = _Counter(), logger.level
    logger.addHandler(counter)
    logger.setLevel(logging.DEBUG)
    try:
        response = call()
        assert response.status_code == 200
    finally:
        logger.removeHandler(counter)
        logger.setLevel(level)
    return counter.count


def add_deals(registry, login, count, lines=1):
    with registry.transaction() as env:
        user = env["res.users"].search([("login", "=", login)])
        tag = env["fxw.tag"].create({"name": f"tag {count}"})
        stages = env["fxw.stage"].search([])
        return env["fxw.deal"].create(
            [
                {
                    "name": f"bulk {i}",
                    "user_id": user.id,
                    "stage_id": stages[i % len(stages)].id,
                    "tag_ids": [(6, 0, [tag.id])],
                    "line_ids": [
                        (0, 0, {"name": f"l{j}", "qty": 1, "price": "1.00"}) for j in range(lines)
                    ],
                }
                for i in range(count)
            ]
        )


def test_queries_of_list_kanban_and_form_do_not_grow_with_the_rows_shown(web):
    app, registry, _users = web
    client = signed_in(app, "anna")
    pages = ("/web/fxw.deal?view=list", "/web/fxw.deal?view=kanban")
    add_deals(registry, "anna", 4)  # a card in every column, so only the number of cards changes
    for url in pages:
        client.get(url)  # rights and metadata are cached on the first request
    few = [queries(lambda url=url: client.get(url)) for url in pages]
    small = add_deals(registry, "anna", 1, lines=2)
    small_form = queries(lambda: client.get(f"/web/fxw.deal/{small.id}"))
    add_deals(registry, "anna", 60)
    many = [queries(lambda url=url: client.get(url)) for url in pages]
    big = add_deals(registry, "anna", 1, lines=40)
    big_form = queries(lambda: client.get(f"/web/fxw.deal/{big.id}"))
    assert many == few, f"list/kanban queries grew from {few} to {many}"
    assert big_form == small_form, f"form queries grew from {small_form} to {big_form}"


def test_bulk_set_by_name_default_saved_view_relation_filter_and_only_mine(web):
    app, registry, users = web
    admin = signed_in(app, "admin")
    ids = deal_ids(registry, "anna")[:2]
    moved = post(
        admin,
        "/web/fxw.deal/bulk",
        {"ids": ids, "operation": "set", "field": "user_id", "value": "Boris"},
    )
    assert moved.status_code == 200, moved.json
    with registry.transaction(write=False) as env:
        assert set(env["fxw.deal"].sudo().browse(ids).mapped("user_id.login")) == {"boris"}
    unknown = post(
        admin,
        "/web/fxw.deal/bulk",
        {"ids": ids, "operation": "set", "field": "user_id", "value": "Nobody"},
    )
    assert unknown.status_code == 400 and "Nobody" in unknown.json["error"]["message"]
    by_relation = admin.get("/web/fxw.deal?view=list&where=user_id.name|ilike|bor").text
    assert by_relation.count('<tr data-id="') == 5
    anna = signed_in(app, "anna")
    post(
        anna,
        "/web/fxw.deal/filters",
        {"name": "Deal 2", "query": "view=list&q=deal+2", "is_default": True},
    )
    opened = anna.get("/web/fxw.deal?view=list")
    assert opened.status_code == 302 and "q=deal+2" in opened.headers["Location"]
    assert "anna deal 2" in anna.get(opened.headers["Location"]).text
    mine = admin.get("/web/fxw.deal?view=list&mine=1").text
    assert 'data-id="' not in mine  # the admin owns no deal


def test_smart_buttons_count_related_records_matching_their_domain(web):
    app, registry, _users = web
    client = signed_in(app, "anna")
    deal = deal_ids(registry, "anna")[1]
    post(
        client,
        f"/web/fxw.deal/{deal}/save",
        {"values": {"line_ids": [{"name": "Big", "qty": "1", "price": "500"}]}},
    )
    page = client.get(f"/web/fxw.deal/{deal}").text
    counts = dict(re.findall(r'data-smart="(\w+)"><b>(\d+)</b>', page))
    assert counts == {"lines": "1", "big_lines": "1"}
    link = re.search(r'href="([^"]+)" data-smart="big_lines"', page).group(1)
    opened = client.get(html.unescape(link)).text
    assert opened.count('<tr data-id="') == 1 and "Big" in opened


def test_an_action_opens_its_own_form_view(web, monkeypatch):
    app, registry, _users = web
    from core.orm import views as V

    views = app.extensions["kontora"].get().views  # the registry the app serves
    short = V.FormView("fxw.deal", body=[V.Group("only", ["name"])], id="fxw.deal.form_short")
    views.views[short.id] = short
    views.actions["fx_web.action_short"] = V.Action(
        "fx_web.action_short", "Short deals", "fxw.deal", view_ids={"form": short.id}
    )
    client = signed_in(app, "anna")
    deal = deal_ids(registry, "anna")[1]
    full = client.get(f"/web/fxw.deal/{deal}").text
    brief = client.get(f"/web/fxw.deal/{deal}?action=fx_web.action_short")
    assert brief.status_code == 200 and 'data-field="name"' in brief.text
    assert 'data-field="partner_name"' in full and 'data-field="partner_name"' not in brief.text
    listing = client.get("/web/fxw.deal?view=list&action=fx_web.action_short").text
    assert f"/web/fxw.deal/{deal}?ids=" in listing
    assert re.search(rf"/web/fxw.deal/{deal}\?ids=[\d,]+&amp;action=fx_web.action_short", listing)


def test_installing_an_addon_with_a_broken_view_fails_naming_it(web):
    _app, registry, _users = web
    from core.modules.manager import AddonManager

    manager = AddonManager(registry.config)
    with pytest.raises(RegistryError, match="fx_bad_view.*fxw.deal.form.*no_such_field"):
        manager.install(["fx_bad_view"])
    assert "fx_bad_view" not in manager.installed()


def test_errors_speak_the_users_language(web):
    app, registry, users = web
    with registry.transaction() as env:
        env["res.users"].browse(users["boris"]).write({"lang": "ru"})
    anna, boris = signed_in(app, "anna"), signed_in(app, "boris")
    deal = deal_ids(registry, "anna")[1]
    hidden = post(boris, f"/web/fxw.deal/{deal}/note", {"body": "x"})
    assert hidden.status_code == 404
    assert "не существует или вам недоступна" in hidden.get_json()["error"]["message"]
    empty = post(anna, f"/web/fxw.deal/{deal}/note", {"body": " "})
    assert empty.status_code == 400 and empty.get_json()["error"]["message"] == "The note is empty"
    own = deal_ids(registry, "boris")[0]
    empty = post(boris, f"/web/fxw.deal/{own}/note", {"body": " "})
    assert empty.get_json()["error"]["message"] == "Заметка пустая"
    page = boris.get("/web/fxw.deal/999999")
    assert page.status_code == 404 and "не существует" in page.text
    assert ">Создать</a>" in boris.get("/web/fxw.deal").text  # the button, not an adjective
    assert "Новая запись" in boris.get("/web/fxw.deal/new").text


def test_notes_and_attachments_follow_the_records_rights(web):
    app, registry, _users = web
    anna, boris = signed_in(app, "anna"), signed_in(app, "boris")
    deal = deal_ids(registry, "anna")[1]
    assert (
        post(anna, f"/web/fxw.deal/{deal}/note", {"body": "Called, wants a discount"}).status_code
        == 200
    )
    upload = anna.post(
        f"/web/fxw.deal/{deal}/attach",
        data={"csrf_token": anna.token, "file": (io.BytesIO(b"%PDF-1.4 offer"), "offer.pdf")},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 302
    page = anna.get(f"/web/fxw.deal/{deal}").text
    assert "Called, wants a discount" in page and "offer.pdf" in page
    link = re.search(r'href="(/web/attachment/\d+)"', page).group(1)
    download = anna.get(link)
    assert (
        download.data == b"%PDF-1.4 offer"
        and "attachment" in download.headers["Content-Disposition"]
    )
    preview = anna.get(link + "?inline=1")
    assert (
        preview.mimetype == "application/pdf" and "inline" in preview.headers["Content-Disposition"]
    )
    assert boris.get(link).status_code == 404
    assert post(boris, f"/web/fxw.deal/{deal}/note", {"body": "x"}).status_code == 404
    refused = boris.post(
        f"/web/fxw.deal/{deal}/attach",
        data={"csrf_token": boris.token, "file": (io.BytesIO(b"x"), "x.txt")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 404


def test_times_are_shown_and_typed_in_the_users_time_zone(web):
    app, registry, _users = web
    client = signed_in(app, "anna")  # Europe/Moscow, the default: UTC+3
    deal = deal_ids(registry, "anna")[1]
    saved = post(
        client, f"/web/fxw.deal/{deal}/save", {"values": {"date_start": "2026-12-02T10:00"}}
    )
    assert saved.status_code == 200
    with registry.transaction(write=False) as env:
        stored = env["fxw.deal"].sudo().browse(deal).date_start
    assert stored.strftime("%Y-%m-%d %H:%M") == "2026-12-02 07:00"
    form = client.get(f"/web/fxw.deal/{deal}").text
    assert 'value="2026-12-02T10:00"' in form
    week = client.get("/web/fxw.deal?view=calendar&mode=week&date=2026-12-02").text
    assert re.search(r'data-slot="2026-12-02T10:00"[^>]*>\s*<a class="event"', week)


def test_kanban_columns_show_twenty_cards_then_load_more(web):
    app, registry, _users = web
    add_deals(registry, "anna", 100)  # 25 in each of the four stages
    client = signed_in(app, "anna")
    with registry.transaction(write=False) as env:
        new = env.ref("fx_web.stage_new").id
        in_new = (
            env["fxw.deal"]
            .sudo()
            .search_count([("stage_id", "=", new), ("user_id.login", "=", "anna")])
        )
    assert in_new > 20
    board = client.get("/web/fxw.deal?view=kanban").text
    column = board.split(f'data-key="{new}"')[1].split("</section>")[0]
    assert column.count('class="card"') == 20
    more = client.get(f"/web/fxw.deal/kanban_more?key={new}&offset=20")
    assert more.status_code == 200
    assert more.text.count('class="card"') == in_new - 20


def test_nested_groups_cost_one_query_per_level_not_per_group(web):
    app, registry, _users = web
    admin = signed_in(app, "admin")
    url = "/web/fxw.deal?view=list&groupby=stage_id&groupby=user_id"
    admin.get(url)
    before = queries(lambda: admin.get(url))
    add_deals(registry, "anna", 8)  # deals in every stage: more first-level groups
    page = admin.get(url).text
    assert page.count('class="group depth0"') == 4 and page.count('class="group depth1"') >= 5
    assert queries(lambda: admin.get(url)) == before


NESTED_PIVOT = (
    "/web/fxw.deal?view=pivot&row=user_id&row=state&col=stage_id&col=partner_name"
    "&measure=__count&measure=amount_total"
)


def test_pivot_page_shows_subtotals_of_nested_rows_and_columns(web):
    app, registry, _users = web
    with registry.transaction() as env:
        deals = env["fxw.deal"].search([], order="id")
        deals[1].write({"state": "confirmed", "partner_name": XSS})
        deals[2].write({"partner_name": "Acme"})
        deals[4].write({"state": "done", "partner_name": "Acme"})
    page = signed_in(app, "admin").get(NESTED_PIVOT).text
    assert XSS not in page and html.escape(XSS) in page  # a customer's name is user data
    body = page.split("<tbody>")[1].split("</tbody>")[0]
    rows = re.findall(
        r'<tr( class="pivot-subtotal"[^>]*)?><th class="pivot-l(\d)">([^<]*)</th>', body
    )
    assert [(bool(sub), int(level), label) for sub, level, label in rows] == [
        (True, 0, "Anna"),
        (False, 1, "Draft"),
        (False, 1, "Confirmed"),
        (True, 0, "Boris"),
        (False, 1, "Draft"),
        (False, 1, "Done"),
    ]
    # Anna's subtotal row: her three deals (count, amount) in the grand total column.
    anna = body.split("</tr>")[0]
    totals = re.findall(r"data-row-total>([^<]*)<", anna)
    assert totals[0] == "3" and "300" in totals[1]
    # Columns: the stage "New" spans its customers and its own "Total" column.
    head = page.split("<thead>")[1].split("</thead>")[0]
    assert re.search(r'<th colspan="8">New</th>', head), head  # (3 customers + total) × 2
    assert head.count('class="pivot-total"') == 2 + 2 * 2  # two totals, their measures
    assert re.findall(r"data-col-subtotal>([^<]*)<", anna)[0] == "3"
    csv_text = (
        signed_in(app, "anna")
        .get("/web/fxw.deal/pivot.csv?row=user_id&row=state&col=stage_id")
        .data.decode("utf-8-sig")
    )
    # Anna sees her own deals only; the measure of this view is the field "Total".
    assert csv_text.splitlines() == [
        "Salesman / Status,,New,Total",
        ",,Total,Total",
        "Anna,Total,300.00,300.00",
        "Anna,Draft,200.00,200.00",
        "Anna,Confirmed,100.00,100.00",
        "Total,,300.00,300.00",
    ]


def test_queries_of_a_nested_pivot_do_not_grow_with_the_groups(web):
    app, registry, _users = web
    client = signed_in(app, "anna")
    url = (
        "/web/fxw.deal?view=pivot&row=user_id&row=name&col=stage_id&col=state"
        "&measure=__count&measure=amount_total"
    )
    add_deals(registry, "anna", 3)
    client.get(url)  # rights and metadata are cached on the first request
    few = queries(lambda: client.get(url))
    add_deals(registry, "anna", 60)  # 60 more rows under Anna, in every stage
    many = queries(lambda: client.get(url))
    assert many == few, f"pivot queries grew from {few} to {many}"
    page = client.get(url).text
    assert page.count('class="pivot-subtotal"') == 1  # Anna, over her deals
