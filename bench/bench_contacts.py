"""Contacts and calendar at scale: creating partners with the duplicate check, finding
duplicates for an import or lead conversion, and the daily activity digest.

    python bench/bench_contacts.py [--partners 20000] [--check 10000] [--users 100]
                                   [--activities 50000] [--db sqlite|postgresql|all]

Prints JSON lines: ``contacts_create`` (partners per second, duplicate check included),
``contacts_find_duplicates`` (rows checked per second, half of them duplicates),
``calendar_activity_create`` (activities on partners per second), ``calendar_digest``
(seconds to build the digests of every user).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import random
import time

import common

from core.config import load_config
from core.db.connection import is_postgres
from core.modules.manager import AddonManager


def inn(rnd) -> str:
    digits = "77" + "".join(str(rnd.randrange(10)) for _ in range(7))
    weights = (2, 4, 10, 3, 5, 9, 4, 6, 8)
    return digits + str(sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11 % 10)


def partner_rows(count, seed=1):
    rnd = random.Random(seed)
    seen, rows = set(), []
    while len(rows) < count:
        number = inn(rnd)
        if number in seen:
            continue
        seen.add(number)
        i = len(rows)
        rows.append(
            {
                "name": f"ООО «Компания {i:06d}»",
                "is_company": True,
                "vat": number,
                "phone": f"8 (495) {i // 10000:03d}-{i % 10000 // 100:02d}-{i % 100:02d}",
                "email": f"info{i}@company{i}.ru",
                "city": "Москва",
            }
        )
    return rows


@contextlib.contextmanager
def database(kind):
    with common.temp_dir() as tmpdir:
        url_cm = (
            contextlib.nullcontext(common.sqlite_url(tmpdir))
            if kind == "sqlite"
            else common.pg_database()
        )
        with url_cm as url:
            # Jobs go to a queue file that nothing works off: the digest's e-mails are
            # created and queued, not sent (sending is the mail benchmark's business).
            config = load_config(
                environ={},
                overrides={
                    "database.url": url,
                    "addons.paths": [str(common.SHIPPED_ADDONS)],
                    "jobs.backend": "sqlite",
                    "jobs.sqlite_path": str(tmpdir / "jobs.sqlite3"),
                },
            )
            registry = AddonManager(config).install(["calendar"])
            try:
                yield registry
            finally:
                if not registry.db.is_closed():
                    registry.db.close()


def run(kind, partners, check, users, activities):
    with database(kind) as registry:
        rows = partner_rows(partners)
        start = time.perf_counter()
        with registry.transaction() as env:
            env["res.partner"].create(rows)
        seconds = time.perf_counter() - start
        common.emit(
            "contacts_create",
            db=kind,
            partners=partners,
            seconds=seconds,
            per_second=partners / seconds,
        )
        if is_postgres(registry.db):
            registry.db.execute_sql("ANALYZE")

        # Half the rows repeat an existing partner (by INN, phone or e-mail), half are new.
        fresh = partner_rows(partners + check // 2, seed=2)[partners:]
        rnd = random.Random(3)
        candidates = []
        for i in range(check):
            if i % 2:
                candidates.append(fresh[i // 2])
            else:
                old = rows[rnd.randrange(partners)]
                key = ("vat", "phone", "email")[i % 3]
                candidates.append({"name": "Дубль", key: old[key]})
        with registry.transaction(write=False) as env:
            start = time.perf_counter()
            found = env["res.partner"].find_duplicates(candidates)
            seconds = time.perf_counter() - start
        common.emit(
            "contacts_find_duplicates",
            db=kind,
            existing=partners,
            rows=check,
            duplicates=sum(1 for f in found if f),
            seconds=seconds,
            rows_per_second=check / seconds,
        )

        today = datetime.date.today()
        with registry.transaction() as env:
            group = env.ref("base.group_user").id
            user_ids = (
                env["res.users"]
                .create(
                    [
                        {
                            "name": f"User {i}",
                            "login": f"user{i}",
                            "email": f"user{i}@example.com",
                            "groups_id": [(6, 0, [group])],
                        }
                        for i in range(users)
                    ]
                )
                .ids
            )
            call = env.ref("calendar.mail_activity_data_call").id
            partner_ids = env["res.partner"].search([], limit=1000).ids
            start = time.perf_counter()
            env["mail.activity"].with_context(mail_activity_quiet=True).create(
                [
                    {
                        "activity_type_id": call,
                        "summary": f"Call {i}",
                        "user_id": user_ids[i % users],
                        "date_deadline": today + datetime.timedelta(days=i % 7 - 3),
                        "res_model": "res.partner",
                        "res_id": partner_ids[i % len(partner_ids)],
                    }
                    for i in range(activities)
                ]
            )
            seconds = time.perf_counter() - start
        common.emit(
            "calendar_activity_create",
            db=kind,
            activities=activities,
            seconds=seconds,
            per_second=activities / seconds,
        )
        # 06:00 UTC is 09:00 in Moscow (the users' zone): past the default 08:00.
        now = datetime.datetime.combine(today, datetime.time(6, 0)).isoformat()
        start = time.perf_counter()
        sent = registry.jobs.run_now("calendar.activity_digest", now=now)
        seconds = time.perf_counter() - start
        common.emit(
            "calendar_digest",
            db=kind,
            users=users,
            activities=activities,
            mails=sent,
            seconds=seconds,
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partners", type=int, default=20000)
    parser.add_argument("--check", type=int, default=10000)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--activities", type=int, default=50000)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "all"), default="sqlite")
    args = parser.parse_args(argv)
    for kind in common.database_kinds(args.db, "contacts"):
        run(kind, args.partners, args.check, args.users, args.activities)


if __name__ == "__main__":
    main()
