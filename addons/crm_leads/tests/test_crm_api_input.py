"""The CRM's public methods through the REST API: bad arguments get a 4xx, never a 500."""

import pytest


@pytest.fixture
def deal(world):
    with world.registry.transaction() as env:
        return (
            env["crm.lead"]
            .create({"name": "Сделка", "type": "opportunity", "user_id": world.uids["sales_a"]})
            .id
        )


@pytest.mark.parametrize(
    "method, body",
    [
        ("action_set_lost", {"lost_reason_id": "price"}),
        ("action_set_lost", {"lost_reason_id": True}),
        ("action_set_lost", {"lost_reason_id": 10**12}),
        ("action_set_lost", {"lost_reason_id": {"id": 1}}),
        ("action_assign", {"user_id": "somebody"}),
        ("action_assign", {"user_id": -5}),
        ("action_convert", {"partner_id": "x"}),
        ("action_set_lost", {"reason": 1}),
    ],
)
def test_bad_arguments_are_refused_naming_the_problem_and_change_nothing(world, deal, method, body):
    response = world.api("manager", "post", f"/crm.lead/{deal}/{method}", json=body)
    assert 400 <= response.status_code < 500, response.get_json()
    assert response.get_json()["error"]["message"]
    lead = world.registry.env(su=True)["crm.lead"].browse(deal)
    assert (lead.active, lead.won_status, lead.user_id.id) == (
        True,
        "pending",
        world.uids["sales_a"],
    )


def test_a_deal_cannot_be_moved_to_a_stage_that_does_not_exist(world, deal):
    response = world.api("sales_a", "patch", f"/crm.lead/{deal}", json={"stage_id": 999999})
    assert 400 <= response.status_code < 500


def test_the_openapi_document_describes_the_crm(world):
    document = world.api("manager", "get", "/openapi.json").get_json()
    paths = " ".join(document["paths"])
    assert "crm.lead" in paths and "crm.stage" in paths
