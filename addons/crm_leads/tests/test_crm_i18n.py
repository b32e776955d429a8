"""Every user-facing string of the addon has a Russian translation, and Russians get it."""

import re
from pathlib import Path

from core.testing.i18n import (
    code_strings,
    data_strings,
    missing_translations,
    model_strings,
    view_strings,
)

ADDON = Path(__file__).resolve().parents[1]
# Refusals of the web form are translated where they are answered: Refused(400, "...").
REFUSAL = re.compile(r'Refused\(\s*\d+,\s*"((?:[^"\\]|\\.)*)"')


def declarations(crm_module):
    return crm_module("views").declarations() + crm_module("dashboard").widgets()


def refusals():
    found = set()
    for path in ADDON.rglob("*.py"):
        if "tests" not in path.relative_to(ADDON).parts:
            found |= set(REFUSAL.findall(path.read_text()))
    return found


def test_every_user_facing_string_has_a_russian_translation(crm, addon_module):
    views = declarations(addon_module)
    strings = (
        model_strings(crm, "crm_leads")
        | view_strings(views)
        | code_strings(ADDON)
        | data_strings(ADDON)
        | refusals()
    )
    assert len(strings) > 150
    missing = missing_translations(crm, "crm_leads", ADDON, views, extra=refusals())
    assert missing == []


def test_a_russian_salesman_reads_errors_in_russian(world):
    with world.registry.transaction() as env:
        env["res.users"].browse(world.uids["sales_a"]).lang = "ru"
        deal = env["crm.lead"].create(
            {"name": "Сделка", "type": "opportunity", "user_id": world.uids["sales_a"]}
        )
    response = world.api("sales_a", "post", f"/crm.lead/{deal.id}/action_set_lost")
    assert response.status_code == 422
    message = response.get_json()["error"]["message"]
    assert message == "Укажите, почему сделка проиграна: причина отказа обязательна."


def test_the_web_form_answers_in_the_posters_language(world):
    response = world.client.post(
        f"/crm/webform/{world.webform_key}",
        data={"email": "x@example.ru"},
        headers={"Accept-Language": "ru-RU,ru;q=0.9"},
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == "Не заполнены обязательные поля: fio, tel"
