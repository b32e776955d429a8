"""Assignment of new leads by the team's mode, bulk reassignment, and round robin under load."""

import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import SHIPPED_ADDONS

WORKER = Path(__file__).resolve().parent / "rr_worker.py"


@pytest.fixture
def trio(world):
    """A third salesman C, and the team's members A, B and C."""
    with world.registry.transaction() as env:
        c = env["res.users"].create(
            {
                "name": "Sales C",
                "login": "sales_c",
                "groups_id": [(6, 0, [env.ref("contacts.group_sale_salesman").id])],
            }
        )
        world.uids["sales_c"] = c.id
        env["crm.team"].browse(world.team_id).write(
            {"member_ids": [(4, c.id)], "assignment_mode": "least_loaded"}
        )
    return world


def logins(leads):
    return [lead.user_id.login for lead in leads]


def test_least_loaded_gives_new_leads_to_who_has_fewest_open_ones(trio, capture):
    with trio.registry.transaction() as env:
        Lead = env["crm.lead"]
        Lead.create([{"name": f"A{i}", "user_id": trio.uids["sales_a"]} for i in range(3)])
        Lead.create({"name": "C0", "user_id": trio.uids["sales_c"]})
        # Won and lost deals are not a load.
        Lead.create({"name": "B won", "type": "opportunity", "user_id": trio.uids["sales_b"]})
        Lead.search([("name", "=", "B won")]).action_set_won()
        new = capture.create_leads(env, [{"phone": str(i)} for i in range(4)], team=trio.team_id)
        assert logins(new) == ["sales_b", "sales_b", "sales_c", "sales_b"]


def test_rules_assign_by_domain_and_leave_the_rest_unassigned(world, capture):
    with world.registry.transaction() as env:
        team = env["crm.team"].browse(world.team_id)
        team.write(
            {
                "assignment_mode": "rules",
                "rule_ids": [
                    (
                        0,
                        0,
                        {
                            "sequence": 1,
                            "domain": [["source_id.name", "=", "Exhibition"]],
                            "user_id": world.uids["sales_a"],
                        },
                    ),
                    (
                        0,
                        0,
                        {
                            "sequence": 2,
                            "domain": [["partner_name", "ilike", "ООО"]],
                            "user_id": world.uids["sales_b"],
                        },
                    ),
                ],
            }
        )
        leads = capture.create_leads(
            env,
            [
                {
                    "partner_name": "ООО «Выставка»",
                    "source_id": env.ref("crm_leads.utm_source_exhibition").id,
                },
                {"partner_name": "ООО «Звонок»"},
                {"partner_name": "ИП Смирнов"},
            ],
            team=team,
        )
        assert logins(leads) == ["sales_a", "sales_b", None]


def test_a_rule_with_a_bad_domain_is_refused(world):
    from core import ValidationError

    with pytest.raises(ValidationError) as caught, world.registry.transaction() as env:
        env["crm.assignment.rule"].create(
            {
                "team_id": world.team_id,
                "domain": [["no_such_field", "=", 1]],
                "user_id": world.uids["sales_a"],
            }
        )
    assert caught.value.field == "domain"


def test_leads_of_a_source_go_to_its_team(world, capture):
    with world.registry.transaction() as env:
        phone = env.ref("crm_leads.utm_source_phone")
        phone.team_id = world.team_id
        leads = capture.create_leads(env, [{"phone": "1"}, {"phone": "2"}], source=phone)
        assert [lead.team_id.id for lead in leads] == [world.team_id] * 2
        assert logins(leads) == ["sales_a", "sales_b"]


def test_manager_reassigns_in_bulk_and_redistributes_by_the_mode(world, capture):
    with world.registry.transaction() as env:
        leads = capture.create_leads(env, [{"phone": str(i)} for i in range(4)], team=world.team_id)
        ids = leads.ids
    with world.registry.transaction(uid=world.uids["manager"]) as env:
        leads = env["crm.lead"].browse(ids)
        leads.action_assign(world.uids["sales_b"])
        assert logins(leads) == ["sales_b"] * 4
        leads.action_assign()
        assert logins(leads) == ["sales_a", "sales_b", "sales_a", "sales_b"]
    response = world.api(
        "manager",
        "post",
        f"/crm.lead/{ids[0]}/action_assign",
        json={"user_id": world.uids["sales_b"]},
    )
    assert response.status_code == 200
    assert world.registry.env(su=True)["crm.lead"].browse(ids[0]).user_id.login == "sales_b"


def test_round_robin_never_hands_out_a_turn_twice_across_processes(world, trio, shipped):
    """Two server processes create leads one transaction each, at the same moment."""
    with world.registry.transaction() as env:
        env["crm.team"].browse(world.team_id).assignment_mode = "round_robin"
    url = shipped.config.database_url
    start = time.time() + 3
    per_process = 60
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                str(WORKER),
                url,
                str(SHIPPED_ADDONS),
                str(world.team_id),
                str(per_process),
                str(start),
            ],
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    for worker in workers:
        _out, err = worker.communicate(timeout=240)
        assert worker.returncode == 0, err.decode()[-2000:]
    env = world.registry.env(su=True)
    assert env["crm.team"].browse(world.team_id).rr_counter == 2 * per_process
    counts = Counter(env["crm.lead"].search([]).mapped(lambda lead: lead.user_id.login))
    assert counts == {"sales_a": 40, "sales_b": 40, "sales_c": 40}


def test_imported_leads_find_their_source_and_are_then_distributed(world):
    from core import import_file

    content = (
        "name,contact_name,phone,source_id,team_id\n"
        "Прайс,Анна,+7 900 1,Exhibition,Website\n"
        "Счёт,Борис,+7 900 2,Exhibition,Website\n"
        "Доставка,Вера,+7 900 3,Phone,Website\n"
    ).encode()
    with world.registry.transaction(uid=world.uids["manager"]) as env:
        result = import_file(env, "crm.lead", content, "leads.csv")
        assert (result.created, result.errors) == (3, [])
        leads = env["crm.lead"].browse(result.ids)
        assert [lead.source_id.name for lead in leads] == ["Exhibition", "Exhibition", "Phone"]
        assert set(logins(leads)) == {"manager"}  # entered by the manager: his, as in Odoo
        leads.action_assign()
        assert logins(leads) == ["sales_a", "sales_b", "sales_a"]
