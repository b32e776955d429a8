"""The batch-create path the benchmarks time (bench/bench_create.py) stores the right values."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from core.exceptions import ValidationError
from core.modules.manager import AddonManager

BENCH_ADDONS = Path(__file__).resolve().parent.parent / "bench" / "addons"
COUNT = 2000
STAGES = ["new", "qualified", "proposal", "won", "lost"]


@pytest.fixture
def registry(make_config):
    config = make_config(paths=[BENCH_ADDONS])
    manager = AddonManager(config)
    registry = manager.install(["bench_models"])
    yield registry
    if not registry.db.is_closed():
        registry.db.close()


def lead_vals(i, partners):
    """Vary the input kinds: ints, recordsets, strings, None, missing keys (defaults)."""
    vals = {"name": f"Lead {i}", "email": f"lead{i}@example.com"}
    if i % 5 == 0:
        vals["partner_id"] = partners[i % len(partners)]  # a recordset
    elif i % 5 == 1:
        vals["partner_id"] = None
    elif i % 5 == 2:
        vals["partner_id"] = str(partners[i % len(partners)].id)  # a string id
    elif i % 5 == 3:
        vals["partner_id"] = partners[i % len(partners)].id
    # i % 5 == 4: no partner key at all
    vals["expected_revenue"] = [1000.555, "250.10", Decimal("99.999"), 7, None][i % 5]
    vals["probability"] = [50, 12.5, None, 100.0, 33.3][i % 5]
    if i % 3 == 0:
        vals["stage"] = STAGES[i % len(STAGES)]
        vals["priority"] = [0, 3, True][i % 9 // 3]
        vals["active"] = [True, False, 1, 0, "yes"][i % 5]
    return vals


def expected(vals):
    revenue = vals["expected_revenue"]
    revenue = (
        None
        if revenue is None
        else Decimal(str(revenue)).quantize(Decimal("0.01"), "ROUND_HALF_UP")
    )
    probability = vals["probability"]
    probability = None if probability is None else float(probability)
    weighted = None
    if revenue is not None:
        weighted = (revenue * Decimal(repr(probability or 0.0)) / 100).quantize(
            Decimal("0.01"), "ROUND_HALF_UP"
        )
    partner = vals.get("partner_id")
    if hasattr(partner, "_ids"):
        partner = partner.id
    elif isinstance(partner, str):
        partner = int(partner)
    active = vals.get("active", True)
    return {
        "partner_id": partner,
        "stage": vals.get("stage", "new"),
        "priority": int(vals.get("priority", 1)),
        "active": active if isinstance(active, bool) else (active == "yes" or active == 1),
        "expected_revenue": revenue,
        "probability": probability,
        "weighted_revenue": weighted,
    }


def check(leads, vals_list):
    assert len(leads) == len(vals_list)
    for lead, vals in zip(leads, vals_list, strict=True):
        want = expected(vals)
        assert lead.name == vals["name"] and lead.email == vals["email"]
        assert lead.partner_id.id == (want["partner_id"] or False), vals
        assert lead.stage == want["stage"]
        assert lead.priority == want["priority"] and type(lead.priority) is int
        assert lead.active is want["active"], vals
        assert lead.expected_revenue == want["expected_revenue"], vals
        if want["expected_revenue"] is not None:
            assert isinstance(lead.expected_revenue, Decimal)
        assert lead.probability == want["probability"]
        assert lead.weighted_revenue == want["weighted_revenue"], vals
        if want["weighted_revenue"] is not None:
            assert isinstance(lead.weighted_revenue, Decimal)


def test_batch_create_stores_defaults_conversions_many2one_and_computed_values(registry):
    with registry.transaction() as env:
        partners = env["bench.partner"].create([{"name": f"Partner {i}"} for i in range(50)])
        vals_list = [lead_vals(i, partners) for i in range(COUNT)]
        leads = env["bench.lead"].create(vals_list)
        ids = leads.ids
        assert ids == sorted(ids) and len(set(ids)) == COUNT
        # straight from the create: the cache holds the values and no temporary ids remain
        check(leads, vals_list)
        for field, fcache in env.state.cache.items():
            if field.model_name == "bench.lead":
                assert all(isinstance(key, int) for key in fcache), field
        assert leads[0].create_uid.id == env.uid and leads[0].create_date is not None
    # from the database, in a new transaction
    with registry.transaction() as env:
        leads = env["bench.lead"].with_context(active_test=False).search([])
        check(leads, vals_list)
        assert env["bench.lead"].search_count([]) == sum(
            1 for v in vals_list if expected(v)["active"]
        )
        groups = (
            env["bench.lead"].with_context(active_test=False).read_group([], ["stage"], ["__count"])
        )
        assert sum(g["__count"] for g in groups) == COUNT
        by_partner = (
            env["bench.lead"]
            .with_context(active_test=False)
            .search([("partner_id.name", "=", "Partner 3")])
        )
        assert by_partner and all(lead.partner_id.name == "Partner 3" for lead in by_partner)


def test_batch_create_checks_values_per_record(registry):
    with registry.transaction() as env:
        Lead = env["bench.lead"]
        with pytest.raises(ValidationError, match="record 3"):
            Lead.create([{"name": "a"}, {"name": "b"}, {"email": "no name"}])
        with pytest.raises(ValidationError, match="not one of"):
            Lead.create([{"name": "a", "stage": "new"}, {"name": "b", "stage": "nope"}])
        with pytest.raises(ValidationError, match="whole number"):
            Lead.create([{"name": "a", "priority": 1}, {"name": "b", "priority": 1.5}])
        with pytest.raises(ValidationError, match="amount"):
            Lead.create([{"name": "a", "expected_revenue": "lots"}])
        # a zero many2one means no record; an empty stage means none
        leads = Lead.create(
            [{"name": "zero", "partner_id": 0, "stage": ""}, {"name": "false", "partner_id": False}]
        )
        assert not leads[0].partner_id and not leads[1].partner_id
        assert leads[0].stage is None
        assert Lead.search_count([("name", "in", ["zero", "false"])]) == 2
        # a sized char is checked in a batch too
        with pytest.raises(ValidationError, match="at most 3"):
            env["res.currency"].create(
                [{"name": "XAA", "symbol": "a"}, {"name": "XBBB", "symbol": "b"}]
            )
