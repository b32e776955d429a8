"""From a website form to a won deal, through the REST API, and the reports that count it."""

from decimal import Decimal


def post_form(world, **fields):
    return world.client.post(
        f"/crm/webform/{world.webform_key}",
        data=fields,
        headers={"Referer": "https://shop.example.ru/catalog/pumps"},
        environ_base={"REMOTE_ADDR": "203.0.113.7"},
    )


def xid(world, ref):
    return world.registry.env(su=True).ref(ref).id


def move(world, login, deal_id, *stages, **extra):
    for stage in stages:
        response = world.api(
            login, "patch", f"/crm.lead/{deal_id}", json={"stage_id": xid(world, stage), **extra}
        )
        assert response.status_code == 200, response.get_json()


def test_website_lead_is_assigned_worked_converted_won_and_counted(world, analysis):
    utm = {"utm_source": "yandex", "utm_medium": "cpc", "utm_campaign": "spring_sale"}
    first = post_form(
        world,
        fio="Анна Петрова",
        company="ООО «Насосы»",
        email="anna@nasosy.ru",
        tel="+7 916 111-22-33",
        comment="Нужны насосы на дачу",
        **utm,
    )
    second = post_form(
        world, fio="Борис Иванов", company="АО «Трубы»", tel="8 495 222-33-44", **utm
    )
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == "https://shop.example.ru/thanks"

    # Round robin: the first lead went to A, the second to B; each sees only his own.
    a_leads = world.api("sales_a", "get", "/crm.lead?fields=name,contact_name,user_id,source_id")
    b_leads = world.api("sales_b", "get", "/crm.lead?fields=name,contact_name,user_id")
    (lead_a,) = a_leads.get_json()["records"]
    (lead_b,) = b_leads.get_json()["records"]
    assert lead_a["contact_name"] == "Анна Петрова" and lead_b["contact_name"] == "Борис Иванов"
    assert lead_a["user_id"]["id"] == world.uids["sales_a"]
    assert lead_b["user_id"]["id"] == world.uids["sales_b"]
    assert lead_a["source_id"]["display_name"] == "yandex"
    env = world.registry.env(su=True)
    stored = env["crm.lead"].browse(lead_a["id"])
    assert (stored.medium_id.name, stored.campaign_id.name) == ("cpc", "spring_sale")
    assert stored.referred == "https://shop.example.ru/catalog/pumps"
    assert stored.description == "Нужны насосы на дачу"

    # A schedules a call, makes it and records the result.
    call = world.api(
        "sales_a",
        "post",
        "/mail.activity",
        json={
            "res_model": "crm.lead",
            "res_id": lead_a["id"],
            "activity_type_id": xid(world, "calendar.mail_activity_data_call"),
            "summary": "Уточнить объём",
            "user_id": world.uids["sales_a"],
        },
    )
    assert call.status_code == 201, call.get_json()
    done = world.api(
        "sales_a",
        "post",
        f"/mail.activity/{call.get_json()['records'][0]['id']}/action_done",
        json={"result": "Нужно 12 насосов, ждёт предложение"},
    )
    assert done.status_code == 200, done.get_json()

    # A converts the lead: a company, a contact in it, and a deal.
    converted = world.api("sales_a", "post", f"/crm.lead/{lead_a['id']}/action_convert")
    assert converted.status_code == 200, converted.get_json()
    (deal_a,) = converted.get_json()["result"]
    lead = env["crm.lead"].browse(lead_a["id"])
    lead.invalidate_recordset()
    assert lead.status == "converted"
    assert lead.converted_partner_id.name == "ООО «Насосы»"
    assert lead.converted_partner_id.is_company
    assert lead.converted_contact_id.name == "Анна Петрова"
    assert lead.converted_contact_id.parent_id == lead.converted_partner_id
    assert lead.converted_opportunity_id.id == deal_a
    deal = env["crm.lead"].browse(deal_a)
    assert (deal.type, deal.stage_id.name, deal.user_id.id) == (
        "opportunity",
        "New",
        world.uids["sales_a"],
    )
    assert deal.partner_id == lead.converted_contact_id
    assert deal.source_id.name == "yandex"

    # Through the stages to won.
    move(
        world,
        "sales_a",
        deal_a,
        "crm_leads.stage_lead2",
        "crm_leads.stage_lead3",
        "crm_leads.stage_lead4",
        expected_revenue="150000.00",
    )
    won = world.api("sales_a", "post", f"/crm.lead/{deal_a}/action_set_won")
    assert won.status_code == 200, won.get_json()

    # B's deal is lost at "Proposal" because of the price; the reason is required.
    (deal_b,) = world.api("sales_b", "post", f"/crm.lead/{lead_b['id']}/action_convert").get_json()[
        "result"
    ]
    move(world, "sales_b", deal_b, "crm_leads.stage_lead2", "crm_leads.stage_lead3")
    world.api("sales_b", "patch", f"/crm.lead/{deal_b}", json={"expected_revenue": "80000"})
    refused = world.api("sales_b", "post", f"/crm.lead/{deal_b}/action_set_lost")
    assert refused.status_code == 422
    assert refused.get_json()["error"]["fields"] == {
        "lost_reason_id": [refused.get_json()["error"]["message"]]
    }
    price = xid(world, "crm_leads.lost_reason_price")
    lost = world.api(
        "sales_b", "post", f"/crm.lead/{deal_b}/action_set_lost", json={"lost_reason_id": price}
    )
    assert lost.status_code == 200, lost.get_json()

    env = world.registry.env(su=True)
    deals = env["crm.lead"].with_context(active_test=False).browse([deal_a, deal_b])
    assert deals.mapped("won_status") == ["won", "lost"]
    assert deals[1].lost_stage_id.name == "Proposal"
    # The history (chatter) of the lead and of the deals tells the story.
    notes = [m["body"] for m in env["crm.lead"].browse(lead_a["id"]).message_history()]
    assert f"Converted into the deal #{deal_a}" in notes
    assert "Нужно 12 насосов" in " ".join(n or "" for n in notes)  # the call's result
    deal_notes = [m["body"] for m in deals[0].message_history()]
    assert deal_notes[0] == "Marked won" and f"Created from the lead #{lead_a['id']}" in deal_notes
    lost_notes = [m["body"] for m in deals[1].message_history()]
    assert lost_notes[0] == "Marked lost: Too expensive (at the stage Proposal)"
    history = env["crm.stage.history"].search([("lead_id", "=", deal_a)])
    assert history.mapped("stage_id.name") == ["New", "Qualified", "Proposal", "Negotiation", "Won"]
    assert all(h.date_out for h in history[:-1]) and not history[-1].date_out

    # The reports, as the manager sees them, count exactly these two deals.
    manager = world.env("manager")
    funnel = analysis.funnel(manager)
    rows = {row["stage"]: row for row in funnel["stages"]}
    assert [rows[s]["reached"] for s in ("New", "Qualified", "Proposal", "Negotiation", "Won")] == [
        2,
        2,
        2,
        1,
        1,
    ]
    assert rows["Proposal"]["lost"] == 1 and rows["Proposal"]["lost_amount"] == Decimal("80000.00")
    assert rows["Proposal"]["conversion"] == 50.0 and rows["New"]["conversion"] == 100.0
    assert rows["Won"]["count"] == 1 and rows["Won"]["amount"] == Decimal("150000.00")
    assert (funnel["won"], funnel["lost"], funnel["total"]) == (1, 1, 2)
    assert funnel["won_amount"] == Decimal("150000.00")

    assert analysis.lost_reasons(manager) == [
        {
            "reason_id": price,
            "reason": "Too expensive",
            "stage_id": xid(world, "crm_leads.stage_lead3"),
            "stage": "Proposal",
            "count": 1,
            "amount": Decimal("80000.00"),
        }
    ]
    (by_source,) = analysis.sources(manager)
    assert by_source["name"] == "yandex"
    assert {k: by_source[k] for k in ("leads", "converted", "opportunities", "won", "lost")} == {
        "leads": 2,
        "converted": 2,
        "opportunities": 2,
        "won": 1,
        "lost": 1,
    }
    assert by_source["won_amount"] == Decimal("150000.00")
    assert (by_source["conversion"], by_source["win_rate"]) == (100.0, 50.0)
    (by_campaign,) = analysis.sources(manager, dimension="campaign_id")
    assert (by_campaign["name"], by_campaign["won"]) == ("spring_sale", 1)

    assert analysis.activity(manager) == [
        {
            "user_id": world.uids["sales_a"],
            "user": "Sales A",
            "kind": "call",
            "period": None,
            "count": 1,
        }
    ]
    # A's own funnel holds his deal only.
    own = analysis.funnel(world.env("sales_a"))
    assert (own["won"], own["lost"], own["total"]) == (1, 0, 1)
