"""Demo data and the data generator: Russian companies, leads, deals, activities and plans.

Everything is generated deterministically from a seed and written with ``create(list)`` in
big batches: the demo database (``--demo``) gets 200 leads and 100 deals in a moment, and
``kontora demo generate --leads 100000`` writes a hundred thousand leads in seconds.
"""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

from core import utcnow

BATCH = 5000
MALE_FIRST = [
    "Александр",
    "Дмитрий",
    "Максим",
    "Сергей",
    "Андрей",
    "Алексей",
    "Иван",
    "Михаил",
    "Олег",
    "Павел",
]
FEMALE_FIRST = [
    "Анна",
    "Мария",
    "Елена",
    "Ольга",
    "Наталья",
    "Татьяна",
    "Ирина",
    "Светлана",
    "Юлия",
    "Вера",
]
MALE_LAST = [
    "Иванов",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Петров",
    "Соколов",
    "Михайлов",
    "Новиков",
    "Фёдоров",
]
PATRONYMIC = [
    "Александров",
    "Сергеев",
    "Иванов",
    "Петров",
    "Николаев",
    "Владимиров",
    "Андреев",
    "Олегов",
]
COMPANY_FORMS = ["ООО", "АО", "ИП", "ООО", "ООО"]
COMPANY_WORDS = [
    "Северный ветер",
    "Уралмеханика",
    "Техностиль",
    "Волжские насосы",
    "Сибирский лес",
    "Стройресурс",
    "Агрокомплект",
    "Медтехника",
    "Балтснаб",
    "Энергосервис",
    "Профупаковка",
    "Металлторг",
    "Кубань-Агро",
    "Инфосистемы",
    "Гермес",
    "Поволжье-Транс",
    "Альфа-Склад",
    "Русский хлеб",
    "Светлый дом",
    "Восток-Логистик",
]
CITIES = [
    "Москва",
    "Санкт-Петербург",
    "Екатеринбург",
    "Казань",
    "Новосибирск",
    "Нижний Новгород",
    "Самара",
    "Краснодар",
]
SUBJECTS = [
    "Запрос цены на насосы",
    "Нужна поставка упаковки",
    "Прайс-лист на металлопрокат",
    "Оборудование для склада",
    "Коммерческое предложение на сервис",
    "Оптовая закупка",
    "Тендер на поставку",
    "Заявка с сайта",
    "Повторный заказ",
    "Консультация по доставке",
]
RESULTS = [
    "Клиент заинтересован, ждёт предложение",
    "Не дозвонились, перезвонить завтра",
    "Встреча прошла, обсудили объёмы",
    "Отправили прайс-лист",
    "Согласовали условия оплаты",
]
TRANSLIT = str.maketrans(
    {
        "а": "a",
        "б": "b",
        "в": "v",
        "г": "g",
        "д": "d",
        "е": "e",
        "ё": "e",
        "ж": "zh",
        "з": "z",
        "и": "i",
        "й": "y",
        "к": "k",
        "л": "l",
        "м": "m",
        "н": "n",
        "о": "o",
        "п": "p",
        "р": "r",
        "с": "s",
        "т": "t",
        "у": "u",
        "ф": "f",
        "х": "h",
        "ц": "c",
        "ч": "ch",
        "ш": "sh",
        "щ": "sch",
        "ъ": "",
        "ы": "y",
        "ь": "",
        "э": "e",
        "ю": "yu",
        "я": "ya",
    }
)


def _person(rnd):
    if rnd.random() < 0.5:
        return f"{rnd.choice(MALE_LAST)} {rnd.choice(MALE_FIRST)} {rnd.choice(PATRONYMIC)}ич"
    last = rnd.choice(MALE_LAST) + "а"
    return f"{last} {rnd.choice(FEMALE_FIRST)} {rnd.choice(PATRONYMIC)}на"


def _latin(text):
    return "".join(ch for ch in text.lower().translate(TRANSLIT) if ch.isalnum()) or "x"


def _company(rnd, number):
    word = rnd.choice(COMPANY_WORDS)
    form = rnd.choice(COMPANY_FORMS)
    if form == "ИП":
        return f"ИП {rnd.choice(MALE_LAST)} {number}"
    return f"{form} «{word}-{number}»"


def _phone(rnd):
    return f"+7 9{rnd.randint(10, 99)} {rnd.randint(100, 999)}-{rnd.randint(10, 99)}-{rnd.randint(10, 99)}"


class Generator:
    """Writes generated records through ``env`` (a superuser environment), batch by batch."""

    def __init__(self, env, seed=2026, progress=None, batch=BATCH):
        self.env = env.sudo().with_context(mail_activity_quiet=True, force_create=True)
        self.rnd = random.Random(seed)
        self.progress = progress or (lambda amount: None)
        self.batch = batch
        env = self.env
        self.sources = env["utm.source"].search([]).ids
        self.mediums = env["utm.medium"].search([]).ids
        self.campaigns = env["utm.campaign"].search([]).ids
        stages = env["crm.stage"].search([])
        self.open_stages = stages.filtered(lambda s: not s.is_won).ids
        self.won_stage = stages.filtered(lambda s: s.is_won)[:1].id
        self.reasons = env["crm.lost.reason"].search([]).ids
        self.team = env["crm.team"].search([], limit=1).id
        self.activity_types = env["mail.activity.type"].search([]).ids
        self.salesmen = self._salesmen()
        self.partners = []

    def _salesmen(self):
        groups = [self.env.ref(f"contacts.group_sale_{g}").id for g in ("salesman", "manager")]
        users = self.env["res.users"].search([("groups_id", "in", groups), ("id", "!=", 1)])
        return users.ids or [self.env.ref("base.user_admin").id]

    def _write(self, model, vals_list):
        """Create in batches; the cache is emptied after each so memory stays flat."""
        ids = []
        Model = self.env[model]
        for start in range(0, len(vals_list), self.batch):
            chunk = vals_list[start : start + self.batch]
            ids.extend(Model.create(chunk).ids)
            self.env.recompute()
            self.env.invalidate_all()
            self.progress(len(chunk))
        return ids

    def partners_(self, count):
        rnd, result = self.rnd, []
        offset = self.env["res.partner"].with_context(active_test=False).search_count([])
        for i in range(count):
            name = _company(rnd, offset + i + 1)
            domain = f"{_latin(name)[:20]}{offset + i + 1}.ru"
            result.append(
                {
                    "name": name,
                    "is_company": True,
                    "phone": _phone(rnd),
                    "email": f"info@{domain}",
                    "website": f"https://{domain}",
                    "city": rnd.choice(CITIES),
                    "customer_rank": 1,
                    "user_id": rnd.choice(self.salesmen),
                }
            )
        ids = self._write("res.partner", result)
        self.partners.extend(ids)
        return ids

    def leads(self, count):
        rnd, result = self.rnd, []
        for i in range(count):
            person = _person(rnd)
            company = _company(rnd, rnd.randint(1, 999))
            result.append(
                {
                    "type": "lead",
                    "name": rnd.choice(SUBJECTS),
                    "contact_name": person,
                    "partner_name": company if rnd.random() < 0.8 else None,
                    "email_from": f"{_latin(person.split()[1])}.{i}@example.ru",
                    "phone": _phone(rnd),
                    "city": rnd.choice(CITIES),
                    "source_id": rnd.choice(self.sources) if self.sources else None,
                    "medium_id": rnd.choice(self.mediums)
                    if self.mediums and rnd.random() < 0.6
                    else None,
                    "campaign_id": rnd.choice(self.campaigns)
                    if self.campaigns and rnd.random() < 0.3
                    else None,
                    "status": rnd.choice(["new", "new", "in_progress"]),
                    "priority": rnd.choice(["0", "1", "1", "2", "3"]),
                    "user_id": rnd.choice(self.salesmen) if rnd.random() < 0.9 else None,
                    "team_id": self.team,
                }
            )
        return self._write("crm.lead", result)

    def opportunities(self, count):
        rnd, result = self.rnd, []
        today = datetime.date.today()
        now = utcnow()
        partners = (
            self.partners
            or self.env["res.partner"].search([("is_company", "=", True)], limit=5000).ids
        )
        for _ in range(count):
            outcome = rnd.random()
            stage = rnd.choice(self.open_stages)
            vals = {
                "type": "opportunity",
                "name": rnd.choice(SUBJECTS),
                "partner_id": rnd.choice(partners) if partners else None,
                "contact_name": _person(rnd),
                "expected_revenue": Decimal(rnd.randrange(10_000, 5_000_000, 500)),
                "date_deadline": today + datetime.timedelta(days=rnd.randint(-30, 90)),
                "source_id": rnd.choice(self.sources) if self.sources else None,
                "medium_id": rnd.choice(self.mediums)
                if self.mediums and rnd.random() < 0.5
                else None,
                "priority": rnd.choice(["0", "1", "2", "3"]),
                "user_id": rnd.choice(self.salesmen),
                "team_id": self.team,
                "stage_id": stage,
            }
            if outcome < 0.15 and self.won_stage:
                vals["stage_id"] = self.won_stage
            elif outcome < 0.3 and self.reasons:
                vals.update(
                    active=False,
                    lost_reason_id=rnd.choice(self.reasons),
                    lost_stage_id=stage,
                    probability=0.0,
                    date_lost=now - datetime.timedelta(days=rnd.randint(0, 60)),
                )
            result.append(vals)
        return self._write("crm.lead", result)

    def activities(self, count, record_ids):
        if not count or not record_ids or not self.activity_types:
            return []
        rnd, result = self.rnd, []
        today = datetime.date.today()
        rows = (
            self.env["crm.lead"]
            .with_context(active_test=False)
            .browse(record_ids)
            .read(["user_id"])
        )
        owners = {r["id"]: r["user_id"][0] if r["user_id"] else self.salesmen[0] for r in rows}
        now = utcnow()
        for _ in range(count):
            record = rnd.choice(record_ids)
            vals = {
                "res_model": "crm.lead",
                "res_id": record,
                "activity_type_id": rnd.choice(self.activity_types),
                "summary": rnd.choice(
                    ["Позвонить клиенту", "Отправить КП", "Встреча в офисе", "Уточнить объём"]
                ),
                "date_deadline": today + datetime.timedelta(days=rnd.randint(-10, 14)),
                "user_id": owners[record],
            }
            if rnd.random() < 0.4:
                vals.update(
                    done=True,
                    date_done=now - datetime.timedelta(days=rnd.randint(0, 20)),
                    result=rnd.choice(RESULTS),
                )
            result.append(vals)
        return self._write("mail.activity", result)

    def plans(self, months=3):
        today = datetime.date.today().replace(day=1)
        existing = {
            (r["user_id"][0], r["month"])
            for r in self.env["crm.plan"].search([]).read(["user_id", "month"])
        }
        vals = []
        for back in range(months):
            month = (today - datetime.timedelta(days=28 * back)).replace(day=1)
            for user in self.salesmen:
                if (user, month) not in existing:
                    vals.append(
                        {
                            "user_id": user,
                            "month": month,
                            "amount": Decimal(self.rnd.randrange(500_000, 3_000_000, 50_000)),
                        }
                    )
        return self._write("crm.plan", vals)


def generate(env, partners=0, leads=0, opportunities=0, activities=0, seed=2026, progress=None):
    """Generate that many records; returns ``{kind: count}``."""
    gen = Generator(env, seed=seed, progress=progress)
    gen.partners_(partners)
    lead_ids = gen.leads(leads)
    deal_ids = gen.opportunities(opportunities)
    gen.activities(activities, lead_ids + deal_ids)
    return {
        "partners": partners,
        "leads": len(lead_ids),
        "opportunities": len(deal_ids),
        "activities": activities,
    }


DEMO_SALESMEN = [("Петров Иван", "ivan.petrov"), ("Смирнова Ольга", "olga.smirnova")]


def load_demo(env):
    """The demo database: two more salesmen in a round robin team, 200 leads, 100 deals,
    activities on them and three months of plans."""
    env = env.sudo()
    group = env.ref("contacts.group_sale_salesman")
    Users = env["res.users"].with_context(active_test=False)
    for name, login in DEMO_SALESMEN:
        if not Users.search([("login", "=", login)]):
            Users.create(
                {
                    "name": name,
                    "login": login,
                    "email": f"{login}@example.ru",
                    "groups_id": [(6, 0, [group.id])],
                }
            )
    demo_user = env.ref("base.user_demo", raise_if_not_found=False)
    if demo_user:
        demo_user.write({"groups_id": [(4, group.id)]})
    gen = Generator(env, seed=7)
    team = env.ref("crm_leads.team_sales_department")
    team.write({"member_ids": [(6, 0, gen.salesmen)], "assignment_mode": "round_robin"})
    lead_ids = gen.leads(200)
    deal_ids = gen.opportunities(100)
    gen.activities(150, lead_ids[:60] + deal_ids)
    gen.plans(3)
    env["crm.webform"].create(
        {
            "name": "Website: contact us",
            "key": "demo-contact-us",
            "field_map": {
                "name": "contact_name",
                "company": "partner_name",
                "email": "email_from",
                "phone": "phone",
                "message": "description",
            },
            "required_fields": ["phone"],
            "honeypot_field": "website_url",
            "thanks_url": "/",
            "source_id": env.ref("crm_leads.utm_source_website").id,
            "team_id": team.id,
            "lead_name": "Website request",
        }
    )
