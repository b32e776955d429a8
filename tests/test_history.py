"""Record history: creation, tracked changes, state changes, notes and deletion."""

from __future__ import annotations

import pytest

from core.exceptions import AccessError


@pytest.fixture
def registry(install):
    return install("fx_orm", "fx_access")


def test_tracked_changes_are_kept_with_author_and_old_and_new_values(registry):
    with registry.transaction() as env:
        acme = env["orm.partner"].create({"name": "Acme"})
        beta = env["orm.partner"].create({"name": "Beta"})
        order = env["orm.order"].create({"partner_id": acme.id})
        order_id = order.id
    with registry.transaction() as env:
        order = env["orm.order"].browse(order_id)
        order.write({"partner_id": beta.id})
        order.action_confirm()
        order.write({"name": "SO001"})  # not tracked: no entry
        order.message_post("Called the customer")
        history = order.message_history()
    events = [
        (h["event"], [(c["field"], c["old"], c["new"]) for c in h["changes"]]) for h in history
    ]
    assert events == [
        ("note", []),
        ("changed", [("state", "Draft", "Confirmed")]),
        ("changed", [("partner_id", "Acme", "Beta")]),
        ("created", [("partner_id", None, "Acme"), ("state", None, "Draft")]),
    ]
    assert history[0]["body"] == "Called the customer"
    assert all(h["author"] == "System" for h in history)


def test_deletion_is_kept_and_batch_writes_make_one_entry_per_record(registry):
    with registry.transaction() as env:
        orders = env["orm.order"].create([{"name": f"SO{i}"} for i in range(3)])
        orders.action_confirm()
        entries = env["mail.message"].search(
            [("model", "=", "orm.order"), ("event", "=", "changed")]
        )
        assert len(entries) == 3
        ids = orders.ids
        orders.unlink()
        deleted = env["mail.message"].search(
            [("model", "=", "orm.order"), ("event", "=", "deleted")]
        )
        assert sorted(deleted.mapped("res_id")) == sorted(ids)


def test_history_is_readable_only_by_those_who_can_read_the_record(registry):
    with registry.transaction() as env:
        own = env.ref("fx_access.group_sale_own")
        a = env["res.users"].create({"name": "A", "login": "a", "groups_id": [(6, 0, [own.id])]})
        b = env["res.users"].create({"name": "B", "login": "b", "groups_id": [(6, 0, [own.id])]})
        lead = env["acc.lead"].create({"name": "L", "user_id": a.id, "cost": 10})
        lead.write({"stage": "won", "cost": 20})
        ids = (a.id, b.id, lead.id)
    with registry.transaction(uid=ids[0]) as env:
        history = env["acc.lead"].browse(ids[2]).message_history()
        assert [h["event"] for h in history] == ["changed", "created"]
        # the restricted cost field's values are not shown to a salesman
        assert all(c["field"] != "cost" for h in history for c in h["changes"])
        with pytest.raises(AccessError):
            env["mail.message"].search([])
    with registry.transaction(uid=ids[1]) as env, pytest.raises(AccessError):
        env["acc.lead"].browse(ids[2]).message_history()
