"""Reports by salesman and period, sources by medium, employees' activity per month."""

import datetime
from decimal import Decimal


def deals_of(world, login, count, amount, **extra):
    return [
        {
            "name": f"{login} {i}",
            "type": "opportunity",
            "user_id": world.uids[login],
            "expected_revenue": amount,
            **extra,
        }
        for i in range(count)
    ]


def test_funnel_per_salesman_counts_each_ones_deals(world, analysis):
    with world.registry.transaction() as env:
        Lead = env["crm.lead"]
        a = Lead.create(deals_of(world, "sales_a", 3, 1000))
        Lead.create(deals_of(world, "sales_b", 2, 500))
        a[:1].action_set_won()
        a[1:2].action_set_lost(env.ref("crm_leads.lost_reason_price").id)
    result = analysis.funnel(world.env("manager"), by_user=True)
    by_user = {row["user"]: row for row in result["users"]}
    assert set(by_user) == {"Sales A", "Sales B"}
    assert (by_user["Sales A"]["won"], by_user["Sales A"]["lost"], by_user["Sales A"]["total"]) == (
        1,
        1,
        3,
    )
    assert by_user["Sales A"]["won_amount"] == Decimal("1000.00")
    new = {row["stage"]: row for row in by_user["Sales B"]["stages"]}["New"]
    assert (new["count"], new["amount"]) == (2, Decimal("1000.00"))
    only_b = analysis.funnel(world.env("manager"), user_id=world.uids["sales_b"])
    assert only_b["total"] == 2


def test_a_period_outside_the_deals_shows_nothing(world, analysis):
    with world.registry.transaction() as env:
        env["crm.lead"].create(deals_of(world, "sales_a", 2, 100))
    today = datetime.date.today()
    inside = analysis.funnel(world.env("manager"), date_from=today, date_to=today)
    assert inside["total"] == 2
    last_year = today - datetime.timedelta(days=365)
    assert analysis.funnel(world.env("manager"), date_to=last_year)["total"] == 0
    assert (
        analysis.sources(world.env("manager"), date_from=today + datetime.timedelta(days=1)) == []
    )


def test_sources_by_medium_compare_leads_with_deals(world, analysis, capture):
    with world.registry.transaction() as env:
        capture.create_leads(env, [{"phone": "1"}, {"phone": "2"}], medium="cpc")
        capture.create_leads(env, [{"phone": "3"}], medium="email")
        cpc = env["utm.medium"].search([("name", "=", "cpc")])
        env["crm.lead"].create(
            deals_of(world, "sales_a", 1, 700, medium_id=cpc.id)
        ).action_set_won()
    rows = {row["name"]: row for row in analysis.sources(world.env("manager"), "medium_id")}
    assert (rows["cpc"]["leads"], rows["cpc"]["won"], rows["cpc"]["won_amount"]) == (
        2,
        1,
        Decimal("700.00"),
    )
    assert (rows["email"]["leads"], rows["email"]["opportunities"], rows["email"]["win_rate"]) == (
        1,
        0,
        None,
    )


def test_activity_report_counts_done_activities_per_kind_and_month(world, analysis):
    call = world.registry.env(su=True).ref("calendar.mail_activity_data_call").id
    meeting = world.registry.env(su=True).ref("calendar.mail_activity_data_meeting").id
    with world.registry.transaction(uid=world.uids["sales_a"]) as env:
        lead = env["crm.lead"].create({"name": "Звонки"})
        acts = env["mail.activity"].create(
            [
                {
                    "res_model": "crm.lead",
                    "res_id": lead.id,
                    "activity_type_id": kind,
                    "summary": "x",
                }
                for kind in (call, call, meeting, call)
            ]
        )
        acts[:3].action_done("Готово")
    rows = analysis.activity(world.env("manager"), granularity="month")
    month = datetime.date.today().replace(day=1)
    assert sorted((r["user"], r["kind"], r["period"], r["count"]) for r in rows) == [
        ("Sales A", "call", month, 2),
        ("Sales A", "meeting", month, 1),
    ]
    # Salesman B did nothing, and sees nothing of A's.
    assert analysis.activity(world.env("sales_b")) == []
