"""Every user-facing string of the addon has a Russian translation, and Russians get it."""

import re
from pathlib import Path

from core.testing import load_catalog

ADDON = Path(__file__).resolve().parents[1]
MESSAGE_CALL = re.compile(
    r'(?:translate\(\s*(?:self\.env|env|None|_poster_lang\(\)),|Refused\(\s*\d+,)\s*"((?:[^"\\]|\\.)*)"'
)


def user_facing_strings(crm_module):
    strings = set()
    for cls in crm_module("models").MODELS:
        strings.add(cls._description)
        for field in cls._own_fields.values():
            strings.update(filter(None, [field.args.get("string"), field.args.get("help")]))
            strings.update(label for _key, label in field.args.get("selection", ()) or ())

    def walk(node):
        if isinstance(node, list | tuple):
            for item in node:
                walk(item)
            return
        for attr in ("string", "title"):
            if isinstance(getattr(node, attr, None), str):
                strings.add(getattr(node, attr))
        for attr in ("body", "header", "smart_buttons", "fields", "filters", "group_bys"):
            walk(getattr(node, attr, None) or [])
        for attr in ("children", "pages", "nodes"):
            walk(getattr(node, attr, None) or [])

    walk(crm_module("views").declarations())
    walk(crm_module("dashboard").widgets())
    for path in ADDON.glob("*.py"):
        strings.update(MESSAGE_CALL.findall(path.read_text()))
    for path in (ADDON / "models").glob("*.py"):
        strings.update(MESSAGE_CALL.findall(path.read_text()))
    return strings


def test_every_user_facing_string_has_a_russian_translation(addon_module):
    catalog = load_catalog("ru", [ADDON / "i18n"])
    strings = user_facing_strings(addon_module)
    assert len(strings) > 150
    missing = sorted(s for s in strings if s not in catalog)
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
