"""The project's database fixtures, crm_leads installed on them, and a sales team to test with."""

import importlib
from dataclasses import dataclass, field

import pytest

from core.testing import create_app
from tests.addon_fixtures import shipped

SALESMAN = "contacts.group_sale_salesman"
MANAGER = "contacts.group_sale_manager"
WEBFORM_KEY = "contact-us-7f3a"


@pytest.fixture
def crm(shipped):
    """The registry with crm_leads (and contacts, calendar) installed, no demo data."""
    return shipped.install(["crm_leads"])


@dataclass
class SalesWorld:
    """Salesmen A and B and their manager (API keys), a round robin team, a web form."""

    registry: object
    config: object
    uids: dict = field(default_factory=dict)
    keys: dict = field(default_factory=dict)
    team_id: int = 0
    webform_id: int = 0
    _client: object = None

    @property
    def client(self):
        if self._client is None:
            app = create_app(self.config)
            app.config["TESTING"] = True
            self._client = app.test_client()
        return self._client

    def headers(self, login):
        return {"Authorization": f"Bearer {self.keys[login]}"}

    def api(self, login, method, url, **kwargs):
        call = getattr(self.client, method)
        return call("/api/v1" + url, headers=self.headers(login), **kwargs)

    def env(self, login):
        return self.registry.env(uid=self.uids[login])

    webform_key = WEBFORM_KEY


def crm_module(name):
    """A module of the installed addon (imported as ``kontora_addons.crm_leads``)."""
    return importlib.import_module(f"kontora_addons.crm_leads.{name}")


@pytest.fixture
def addon_module(crm):
    """``addon_module("analysis")``: a module of the installed addon."""
    return crm_module


@pytest.fixture
def analysis(crm):
    return crm_module("analysis")


@pytest.fixture
def capture(crm):
    return crm_module("capture")


@pytest.fixture
def convert(crm):
    return crm_module("convert")


@pytest.fixture
def world(crm, shipped):
    """Users sales_a, sales_b (own documents) and manager (all documents), a team "Website"
    giving its leads round robin to A and B, and a web form feeding that team."""
    result = SalesWorld(crm, shipped.config)
    with crm.transaction() as env:
        Users = env["res.users"].sudo()
        for login, group in (("sales_a", SALESMAN), ("sales_b", SALESMAN), ("manager", MANAGER)):
            user = Users.create(
                {
                    "name": login.replace("_", " ").title(),
                    "login": login,
                    "groups_id": [(6, 0, [env.ref(group).id])],
                }
            )
            result.uids[login] = user.id
            result.keys[login] = user.api_key_create(f"{login} key")
        team = env["crm.team"].create(
            {
                "name": "Website",
                "assignment_mode": "round_robin",
                "member_ids": [(6, 0, [result.uids["sales_a"], result.uids["sales_b"]])],
            }
        )
        result.team_id = team.id
        form = env["crm.webform"].create(
            {
                "name": "Contact us",
                "key": WEBFORM_KEY,
                "field_map": {
                    "fio": "contact_name",
                    "company": "partner_name",
                    "email": "email_from",
                    "tel": "phone",
                    "comment": "description",
                },
                "required_fields": ["fio", "tel"],
                "honeypot_field": "url2",
                "thanks_url": "https://shop.example.ru/thanks",
                "source_id": env.ref("crm_leads.utm_source_website").id,
                "team_id": team.id,
                "lead_name": "Request from the website",
                "rate_limit": 60,
            }
        )
        result.webform_id = form.id
    return result
