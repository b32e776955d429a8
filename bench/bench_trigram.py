"""Substring search on 1 000 000 partners: ``ilike`` with and without the trigram index.

Names are ``Partner 0000000`` (80 %), ``ООО «<word> <n>»`` (10 %, 40 words) and Latin
company names (10 %, a few containing ``Ababab``), created through the ORM in batches (COPY
on PostgreSQL, the FTS triggers on SQLite). Each pattern is searched like a list page:
``search([("name", "ilike", pattern)], limit=80, order="name")``, median of ``--runs``, in
one read transaction, first through today's path (``before``: on SQLite the context key
``trigram_index=False``, on PostgreSQL ``enable_bitmapscan`` off, so the GIN index is out of
the planner's reach) and then through the index (``after``). Both must find the same ids.

    python bench/bench_trigram.py [--partners 1000000] [--runs 15] [--db sqlite|postgresql|all]
"""

from __future__ import annotations

import argparse
import time

import common

from core.db.connection import is_postgres

RU = [
    "Ромашка", "Василёк", "Берёзка", "Ёлочка", "Сирень", "Гвоздика", "Лютик", "Фиалка",
    "Незабудка", "Подсолнух", "Север", "Восток", "Заря", "Рассвет", "Спектр", "Вектор",
    "Гранит", "Кварц", "Меридиан", "Горизонт", "Альянс", "Импульс", "Орион", "Сатурн",
    "Байкал", "Енисей", "Волга", "Ладога", "Эльбрус", "Алтай", "Урал", "Таймыр",
    "Стройсервис", "Техноком", "Агроторг", "Медтехника", "Энергосбыт", "Автодор", "Промснаб",
    "Жёлудь",
]  # fmt: skip
EN = ["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Wonka", "Tyrell", "Soylent", "Hooli"]  # fmt: skip
PATTERNS = {
    "common": "Partner 0042",
    "dense": "Partner",
    "rare": "ababab",
    "absent": "zzz",
    "cyrillic": "ромашка 12",
    "cyrillic_upper": "ООО «РОМАШКА 7",
    "cyrillic_word": "Жёлудь",
    "short": "ab",
}


def name(i: int) -> str:
    kind = i % 10
    if kind < 8:
        return f"Partner {i:07d}"
    if kind == 8:
        return f"ООО «{RU[(i // 10) % len(RU)]} {i // 400}»"
    if i % 50_000 == 9:
        return f"Ababab Trading {i}"
    return f"{EN[(i // 10) % len(EN)]} {('Ltd', 'LLC', 'GmbH', 'Inc')[i % 4]} {i}"


def populate(registry, count, batch=100_000):
    start = time.perf_counter()
    for first in range(0, count, batch):
        with registry.transaction() as env:
            last = min(first + batch, count)
            env["bench.partner"].create([{"name": name(i)} for i in range(first, last)])
    if is_postgres(registry.db):
        registry.db.execute_sql("VACUUM ANALYZE bench_partner")
    else:
        registry.db.execute_sql("ANALYZE")
    return time.perf_counter() - start


def measure(func, runs):
    result = func()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return common.median(times) * 1000, result


def search(env, pattern):
    return lambda: (
        env["bench.partner"].search([("name", "ilike", pattern)], limit=80, order="name").ids
    )


def run(kind, count, runs):
    with common.bench_database(kind) as (_config, registry):
        seconds = populate(registry, count)
        common.emit("trigram_populate", db=kind, partners=count, seconds=seconds)
        postgres = is_postgres(registry.db)
        for label, pattern in PATTERNS.items():
            with registry.transaction(write=False, context={"trigram_index": False}) as env:
                if postgres:
                    registry.db.execute_sql("SET LOCAL enable_bitmapscan = off")
                before_ms, before = measure(search(env, pattern), max(1, runs // 5))
            with registry.transaction(write=False) as env:
                after_ms, after = measure(search(env, pattern), runs)
            common.emit(
                "trigram_ilike_limit80",
                db=kind,
                partners=count,
                pattern=pattern,
                kind=label,
                before_ms=before_ms,
                after_ms=after_ms,
                ratio=before_ms / after_ms if after_ms else None,
                found=len(after),
                same=before == after,
            )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partners", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "all"), default="all")
    args = parser.parse_args(argv)
    for kind in common.database_kinds(args.db, "trigram"):
        run(kind, args.partners, args.runs)


if __name__ == "__main__":
    main()
