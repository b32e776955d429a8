"""Salesman B never sees salesman A's leads, deals, their history or activities; managers do."""

from decimal import Decimal

import pytest

from core import AccessError, export_rows


@pytest.fixture
def books(world):
    """A lead and a deal of A, one deal of B, one lead of nobody; A's call on his deal."""
    with world.registry.transaction() as env:
        Lead = env["crm.lead"]
        a, b = world.uids["sales_a"], world.uids["sales_b"]
        ids = {
            "a_lead": Lead.create({"name": "A lead", "user_id": a, "phone": "111"}).id,
            "a_deal": Lead.create(
                {"name": "A deal", "type": "opportunity", "user_id": a, "expected_revenue": 500}
            ).id,
            "b_deal": Lead.create(
                {"name": "B deal", "type": "opportunity", "user_id": b, "expected_revenue": 700}
            ).id,
            "free": Lead.create({"name": "Nobody's lead", "user_id": None}).id,
        }
        ids["a_call"] = (
            env["mail.activity"]
            .create(
                {
                    "res_model": "crm.lead",
                    "res_id": ids["a_deal"],
                    "activity_type_id": env.ref("calendar.mail_activity_data_call").id,
                    "summary": "Call about A deal",
                    "user_id": a,
                }
            )
            .id
        )
    return ids


def test_salesman_sees_own_and_unassigned_leads_only_in_searches_and_groups(world, books):
    env_b = world.env("sales_b")
    Lead = env_b["crm.lead"]
    assert set(Lead.search([]).mapped("name")) == {"B deal", "Nobody's lead"}
    assert Lead.search_count([("name", "ilike", "A ")]) == 0
    groups = Lead.read_group([], ["type"], ["__count", "expected_revenue:sum"])
    by_type = {g["type"]: (g["__count"], g["expected_revenue:sum"]) for g in groups}
    assert by_type == {"lead": (1, Decimal("0.00")), "opportunity": (1, Decimal("700.00"))}
    assert Lead.name_search("deal") == [(books["b_deal"], "B deal")]
    # The stage history and the activities of A's deal stay hidden as well.
    assert env_b["crm.stage.history"].search([("lead_id", "=", books["a_deal"])]).ids == []
    assert env_b["mail.activity"].search([("res_id", "=", books["a_deal"])]).ids == []


def test_salesman_cannot_read_or_change_a_colleagues_deal_by_id(world, books):
    env_b = world.env("sales_b")
    deal = env_b["crm.lead"].browse(books["a_deal"])
    with pytest.raises(AccessError):
        deal.read(["name"])
    with pytest.raises(AccessError):
        deal.write({"name": "Mine now"})
    with pytest.raises(AccessError):
        deal.action_set_won()
    assert world.registry.env(su=True)["crm.lead"].browse(books["a_deal"]).name == "A deal"


def test_salesman_export_and_reports_leave_out_a_colleagues_deals(world, books, analysis):
    env_b = world.env("sales_b")
    rows = export_rows(env_b["crm.lead"].search([]), ["name", "user_id.name"])
    assert sorted(rows) == [["B deal", "Sales B"], ["Nobody's lead", None]]
    funnel = analysis.funnel(env_b)
    assert funnel["total"] == 1
    assert sum(s["amount"] for s in funnel["stages"]) == Decimal("700.00")
    assert [r["leads"] for r in analysis.sources(env_b)] == [1]


def test_api_answers_404_for_a_colleagues_deal_and_lists_only_own(world, books):
    deal = books["a_deal"]
    assert world.api("sales_b", "get", f"/crm.lead/{deal}").status_code == 404
    assert world.api("sales_b", "patch", f"/crm.lead/{deal}", json={"name": "x"}).status_code == 404
    assert world.api("sales_b", "post", f"/crm.lead/{deal}/action_set_won").status_code == 404
    listed = world.api("sales_b", "get", "/crm.lead?fields=name").get_json()["records"]
    assert {r["name"] for r in listed} == {"B deal", "Nobody's lead"}
    exported = world.api("sales_b", "get", "/crm.lead/export?fields=name&format=json").get_json()
    assert {r["name"] for r in exported["records"]} == {"B deal", "Nobody's lead"}
    grouped = world.api("sales_b", "get", "/crm.lead/read_group?groupby=user_id").get_json()
    users = {(g["user_id"] or {}).get("display_name") for g in grouped["groups"]}
    assert users == {"Sales B", None}
    call = books["a_call"]
    assert world.api("sales_b", "get", f"/mail.activity/{call}").status_code == 404
    # The manager sees everything.
    everything = world.api("manager", "get", "/crm.lead?fields=name").get_json()["records"]
    assert len(everything) == 4


def test_stages_are_read_by_salesmen_and_changed_by_managers_only(world, books):
    env_a = world.env("sales_a")
    stage = env_a["crm.stage"].search([], limit=1)
    assert stage.name == "New"
    with pytest.raises(AccessError):
        stage.write({"name": "Fresh"})
    with pytest.raises(AccessError):
        env_a["crm.lost.reason"].create({"name": "Moon phase"})
    with pytest.raises(AccessError):
        env_a["crm.webform"].search([])
    with world.registry.transaction(uid=world.uids["manager"]) as env:
        env["crm.stage"].browse(stage.id).write({"name": "Fresh"})
    assert world.registry.env(su=True)["crm.stage"].browse(stage.id).name == "Fresh"


def test_salesman_entering_a_lead_becomes_its_salesman(world):
    with world.registry.transaction(uid=world.uids["sales_a"]) as env:
        lead = env["crm.lead"].create({"name": "Walk-in customer", "team_id": world.team_id})
        assert lead.user_id.id == world.uids["sales_a"]


def test_a_refused_stage_move_leaves_the_colleagues_history_untouched(world, books):
    history = world.registry.env(su=True)["crm.stage.history"]
    before = history.search([("lead_id", "=", books["a_deal"])]).read(["stage_id", "date_out"])
    env_b = world.env("sales_b")  # outside a transaction: each ORM call commits on its own
    with pytest.raises(AccessError):
        env_b["crm.lead"].browse(books["a_deal"]).write(
            {"stage_id": env_b.ref("crm_leads.stage_lead3").id}
        )
    with pytest.raises(AccessError):
        env_b["crm.lead"].browse(books["a_deal"]).action_set_lost(
            env_b.ref("crm_leads.lost_reason_price").id
        )
    fresh = world.registry.env(su=True)["crm.stage.history"]
    assert (
        fresh.search([("lead_id", "=", books["a_deal"])]).read(["stage_id", "date_out"]) == before
    )
