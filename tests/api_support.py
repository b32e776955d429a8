"""Shared set-up of the REST API tests: users with API keys, leads of two salesmen, an app."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from core.http.app import create_app

PASSWORD = "a-long-password-1"


@dataclass
class ApiWorld:
    registry: object
    app: object
    client: object
    keys: dict = field(default_factory=dict)  # login -> API key secret
    uids: dict = field(default_factory=dict)  # login -> user id
    leads: dict = field(default_factory=dict)  # label -> lead id

    def headers(self, login, **extra) -> dict:
        return {"Authorization": f"Bearer {self.keys[login]}", **extra}

    def get(self, login, url, **kwargs):
        return self.client.get(url, headers=self.headers(login), **kwargs)

    def post(self, login, url, **kwargs):
        return self.client.post(url, headers=self.headers(login), **kwargs)

    def patch(self, login, url, **kwargs):
        return self.client.patch(url, headers=self.headers(login), **kwargs)

    def delete(self, login, url, **kwargs):
        return self.client.delete(url, headers=self.headers(login), **kwargs)

    def set_passwords(self, *logins):
        with self.registry.transaction() as env:
            for login in logins:
                env["res.users"].sudo().browse(self.uids[login]).set_password(PASSWORD)


def build_world(install, config) -> ApiWorld:
    """base + fx_access + fx_orm; users admin, nogroup, sales_a, sales_b, manager (each with
    an API key; ``set_passwords`` gives them ``PASSWORD``); leads of A and B (A's child lead
    has B's lead as parent)."""
    registry = install("fx_access", "fx_orm")
    world = ApiWorld(registry, None, None)
    with registry.transaction() as env:
        Users = env["res.users"].sudo()
        admin = env.ref("base.user_admin")
        own = env.ref("fx_access.group_sale_own")
        everything = env.ref("fx_access.group_sale_all")
        users = {"admin": admin}
        users["nogroup"] = Users.create({"name": "No Group", "login": "nogroup"})
        users["nogroup"].write({"groups_id": [(6, 0, [])]})
        users["sales_a"] = Users.create(
            {"name": "Salesman A", "login": "sales_a", "groups_id": [(6, 0, [own.id])]}
        )
        users["sales_b"] = Users.create(
            {"name": "Salesman B", "login": "sales_b", "groups_id": [(6, 0, [own.id])]}
        )
        users["manager"] = Users.create(
            {"name": "Sales Manager", "login": "manager", "groups_id": [(6, 0, [everything.id])]}
        )
        for login, user in users.items():
            world.keys[login] = user.sudo().api_key_create(f"{login} key")
            world.uids[login] = user.id
        Lead = env["acc.lead"].sudo()
        tag = env["acc.tag"].sudo().create({"name": "Hot"})
        b1 = Lead.create(
            {
                "name": "B secret deal",
                "user_id": users["sales_b"].id,
                "expected_revenue": Decimal("5000.00"),
                "cost": Decimal("4000.00"),
                "stage": "won",
                "partner_name": "Bravo Ltd",
            }
        )
        b2 = Lead.create(
            {
                "name": "B second deal",
                "user_id": users["sales_b"].id,
                "expected_revenue": Decimal("700.00"),
                "cost": Decimal("100.00"),
                "stage": "new",
            }
        )
        a1 = Lead.create(
            {
                "name": "A first deal",
                "user_id": users["sales_a"].id,
                "expected_revenue": Decimal("1000.00"),
                "cost": Decimal("300.00"),
                "stage": "won",
                "partner_name": "Alpha LLC",
                "date_deadline": datetime.date(2026, 3, 1),
                "tag_ids": [(6, 0, [tag.id])],
            }
        )
        a2 = Lead.create(
            {
                "name": "A child of B",
                "user_id": users["sales_a"].id,
                "expected_revenue": Decimal("250.50"),
                "cost": Decimal("50.00"),
                "stage": "new",
                "parent_id": b1.id,
            }
        )
        world.leads = {"a1": a1.id, "a2": a2.id, "b1": b1.id, "b2": b2.id, "tag": tag.id}
        partner = env["orm.partner"].sudo().create({"name": "Orm Partner", "email": "p@x.org"})
        order = env["orm.order"].sudo().create({"name": "SO1", "partner_id": partner.id})
        env["orm.order.line"].sudo().create(
            {"order_id": order.id, "product": "Chair", "quantity": 2, "price_unit": 10}
        )
    world.app = create_app(config)
    world.client = world.app.test_client()
    return world
