"""Conversion without duplicate partners, won and lost deals, restoring, stage history, plans."""

import datetime
from decimal import Decimal

import pytest

from core import UserError, ValidationError


def stage(env, number):
    return env.ref(f"crm_leads.stage_lead{number}")


def test_conversion_uses_the_partner_the_duplicate_check_finds(world):
    with world.registry.transaction(uid=world.uids["manager"]) as env:
        company = env["res.partner"].create({"name": "ООО «Вектор»", "is_company": True})
        person = env["res.partner"].create(
            {"name": "Олег Жуков", "email": "oleg@vektor.ru", "parent_id": company.id}
        )
        partners_before = env["res.partner"].search_count([])
        lead = env["crm.lead"].create(
            {
                "name": "Ещё заказ",
                "contact_name": "О. Жуков",
                "partner_name": "Вектор",
                "email_from": "Oleg@Vektor.ru",
                "user_id": world.uids["sales_a"],
            }
        )
        (deal_id,) = lead.action_convert()
        assert env["res.partner"].search_count([]) == partners_before
        assert (lead.converted_contact_id, lead.converted_partner_id) == (person, company)
        deal = env["crm.lead"].browse(deal_id)
        assert deal.partner_id == person and deal.origin_lead_id == lead
        assert deal.user_id.id == world.uids["sales_a"]


def test_conversion_takes_the_partners_the_user_chose(world):
    with world.registry.transaction(uid=world.uids["manager"]) as env:
        chosen = env["res.partner"].create({"name": "АО «Выбранная»", "is_company": True})
        lead = env["crm.lead"].create(
            {"name": "Заявка", "contact_name": "Пётр", "partner_name": "Другая", "phone": "123"}
        )
        (deal_id,) = lead.action_convert(company_id=chosen.id)
        assert lead.converted_partner_id == chosen
        assert lead.converted_contact_id.name == "Пётр"
        assert lead.converted_contact_id.parent_id == chosen
        assert env["res.partner"].search_count([("name", "=", "Другая")]) == 0
        with pytest.raises(ValidationError, match="No partner with id"):
            env["crm.lead"].create({"name": "x", "phone": "5"}).action_convert(partner_id=10**9)


def test_a_batch_conversion_makes_one_company_per_name_and_one_deal_per_lead(world, convert):
    with world.registry.transaction(uid=world.uids["manager"]) as env:
        leads = env["crm.lead"].create(
            [
                {
                    "name": f"L{i}",
                    "contact_name": f"Person {i}",
                    "partner_name": "ООО «Общая»",
                    "email_from": f"p{i}@obshaya.ru",
                    "expected_revenue": 100 * i,
                }
                for i in range(5)
            ]
        )
        deals = convert.convert_leads(leads)
        assert len(deals) == 5
        assert env["res.partner"].search_count([("name", "=", "ООО «Общая»")]) == 1
        assert len(set(leads.mapped("converted_contact_id").ids)) == 5
        assert [d.expected_revenue for d in deals] == [Decimal(100 * i) for i in range(5)]
        assert set(leads.mapped("status")) == {"converted"}
        with pytest.raises(UserError, match="only leads that are not converted"):
            convert.convert_leads(leads[:1])


def test_lost_needs_a_reason_keeps_the_stage_and_can_be_restored(world):
    with world.registry.transaction(uid=world.uids["sales_a"]) as env:
        deal = env["crm.lead"].create({"name": "Сделка", "type": "opportunity"})
        deal.write({"stage_id": stage(env, 3).id})
        with pytest.raises(ValidationError) as caught:
            deal.action_set_lost()
        assert caught.value.field == "lost_reason_id"
        reason = env.ref("crm_leads.lost_reason_competitor")
        deal.action_set_lost(reason.id)
        assert (deal.active, deal.won_status, deal.lost_stage_id, deal.probability) == (
            False,
            "lost",
            stage(env, 3),
            0.0,
        )
        assert deal.date_lost is not None
        with pytest.raises(UserError, match="restore it first"):
            deal.action_set_won()
        deal.action_restore()
        assert (deal.active, deal.won_status, deal.stage_id, deal.probability) == (
            True,
            "pending",
            stage(env, 3),
            50.0,
        )
        deal.action_set_won()
        assert (deal.stage_id, deal.won_status, deal.probability) == (stage(env, 5), "won", 100.0)
        with pytest.raises(UserError, match="won"):
            deal.action_set_lost(reason.id)


def test_each_stage_change_is_recorded_with_the_time_spent(world):
    with world.registry.transaction() as env:
        deal = env["crm.lead"].create(
            {"name": "Быстрая", "type": "opportunity", "user_id": world.uids["sales_a"]}
        )
        history = env["crm.stage.history"]
        # Pretend the deal entered "New" a day and a half ago.
        first = history.search([("lead_id", "=", deal.id)])
        first.write({"date_in": datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=36)})
        deal.write({"stage_id": stage(env, 2).id})
        rows = history.search([("lead_id", "=", deal.id)])
        assert rows.mapped("stage_id.name") == ["New", "Qualified"]
        assert rows[0].duration_hours == pytest.approx(36, abs=0.05)
        assert rows[1].date_out is None
        # A batch move writes one row per deal and closes the previous ones.
        more = env["crm.lead"].create([{"name": f"D{i}", "type": "opportunity"} for i in range(3)])
        (more | deal).write({"stage_id": stage(env, 3).id})
        open_rows = history.search([("date_out", "=", None)])
        assert sorted(open_rows.mapped(lambda h: h.stage_id.name)) == ["Proposal"] * 4


def test_stage_responsible_and_deadline_are_set_on_entering_the_stage(world):
    with world.registry.transaction() as env:
        proposal = stage(env, 3)
        proposal.write({"user_id": world.uids["manager"], "deadline_days": 10})
        deal = env["crm.lead"].create({"name": "Крупная", "type": "opportunity"})
        deal.write({"stage_id": proposal.id})
        assert deal.stage_user_id.id == world.uids["manager"]
        assert deal.stage_deadline == datetime.date.today() + datetime.timedelta(days=10)
        assert deal.probability == 50.0


def test_plan_fulfilment_compares_won_deals_with_the_plan(world, analysis):
    today = datetime.date.today()
    with world.registry.transaction() as env:
        env["crm.plan"].create(
            [
                {"user_id": world.uids["sales_a"], "month": today, "amount": 200000},
                {"user_id": world.uids["sales_b"], "month": today, "amount": 100000},
            ]
        )
        deals = env["crm.lead"].create(
            [
                {
                    "name": "W1",
                    "type": "opportunity",
                    "user_id": world.uids["sales_a"],
                    "expected_revenue": 50000,
                },
                {
                    "name": "W2",
                    "type": "opportunity",
                    "user_id": world.uids["sales_a"],
                    "expected_revenue": 100000,
                },
                {
                    "name": "Open",
                    "type": "opportunity",
                    "user_id": world.uids["sales_b"],
                    "expected_revenue": 90000,
                },
            ]
        )
        deals[:2].action_set_won()
    rows = analysis.plan_fulfilment(world.env("manager"), today)
    assert [(r["user"], r["plan"], r["won"], r["fulfilment"]) for r in rows] == [
        ("Sales A", Decimal("200000.00"), Decimal("150000.00"), 75.0),
        ("Sales B", Decimal("100000.00"), Decimal("0.00"), 0.0),
    ]
    # A salesman sees his own plan only.
    assert [r["user"] for r in analysis.plan_fulfilment(world.env("sales_b"), today)] == ["Sales B"]


def test_a_card_added_to_a_pipeline_column_is_a_deal_at_that_stage(world):
    with world.registry.transaction(uid=world.uids["sales_a"]) as env:
        card = env["crm.lead"].create({"name": "Из канбана", "stage_id": stage(env, 2).id})
        assert (card.type, card.stage_id, card.probability) == ("opportunity", stage(env, 2), 30.0)
        lead = env["crm.lead"].create({"name": "Просто обращение"})
        assert (lead.type, bool(lead.stage_id), lead.status) == ("lead", False, "new")
