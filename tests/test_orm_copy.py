"""Large creates: on PostgreSQL a batch of ``COPY_THRESHOLD`` rows or more is inserted with
COPY (ids reserved from the table's sequence). Everything must come out as with the
multi-row INSERT that smaller batches (and SQLite) use: stored values of every field kind,
ids in the order of the vals, hooks, history, webhooks, errors and rollbacks."""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from core.db.connection import is_postgres
from core.exceptions import UserError, ValidationError
from core.modules.manager import AddonManager
from core.orm import bulk_copy as orm_copy

COPY_ADDONS = Path(__file__).resolve().parent / "fixtures" / "copy_addons"
N = orm_copy.COPY_THRESHOLD + 37  # one COPY batch; the same rows in small batches use INSERT
SMALL = orm_copy.COPY_THRESHOLD - 1
COLUMNS = [
    "name",
    "code",
    "short",
    "note",
    "count",
    "ratio",
    "rounded",
    "amount",
    "flag",
    "day",
    "moment",
    "kind",
    "tag_id",
    "data",
    "name_upper",
    "create_uid",
    "write_uid",
]
TEXTS = [
    "tab\there",
    "line\nbreak",
    "carriage\rreturn\r\n",
    "back\\slash \\N \\t \\\\ end\\",
    "\\.",
    "Привет, мир — ёлка",
    "emoji 😀 and 中文",
    " leading and trailing ",
    "quote ' and \" ; comma, semicolon",
    "",
]
UTC = datetime.UTC
PLUS3 = datetime.timezone(datetime.timedelta(hours=3))


@pytest.fixture
def registry(make_config):
    manager = AddonManager(make_config(paths=[COPY_ADDONS]))
    registry = manager.install(["fx_copy"])
    yield registry
    if not manager.db.is_closed():
        manager.db.close()


@pytest.fixture
def created_hook():
    from kontora_addons.fx_copy import CREATED

    CREATED.clear()
    yield CREATED
    CREATED.clear()


@pytest.fixture
def copies(monkeypatch):
    """The row counts of the batches the COPY path inserted (the real function runs)."""
    calls = []
    real = orm_copy.copy_rows

    def counting(model, cursor, names, value_lists, count, constants=()):
        ids = real(model, cursor, names, value_lists, count, constants)
        if ids is not None:
            calls.append((model._name, count))
        return ids

    monkeypatch.setattr(orm_copy, "copy_rows", counting)
    return calls


def make_vals(count, tag_ids, prefix):
    vals_list = []
    for i in range(count):
        text = TEXTS[i % len(TEXTS)]
        vals = {
            "name": f"{prefix} {i:05d} {text}",
            "code": f"{prefix}-{i}",
            "note": None if i % 11 == 0 else f"{text}\n{i}\t{TEXTS[(i + 3) % len(TEXTS)]}",
            "count": [0, -0, 7, 2**62, None, 12345][i % 6],
            "ratio": [0.1, 1e-300, 1e300, -0.0, float("inf"), 33.3, None, 5][i % 8],
            "rounded": [1.005, 2.675, None, 3][i % 4],
            "amount": [Decimal("12.345"), "-0.005", 10**17, 5, None, 0.1, "1e3"][i % 7],
            "day": [datetime.date(2024, 2, 29), "2023-12-31", None, datetime.date(1, 1, 1)][i % 4],
            "moment": [
                datetime.datetime(2024, 3, 1, 12, 30, 45, 123456),
                datetime.datetime(2024, 3, 1, 12, 30, tzinfo=PLUS3),
                "2024-06-30 23:59:59",
                None,
                datetime.date(2020, 1, 2),
            ][i % 5],
            "tag_id": [tag_ids[0], tag_ids[1], None][i % 3],
            "data": [
                {"a": [1, "x\ty"], "ru": "да", "slash": "\\"},
                [1, 2.5, None],
                "plain",
                None,
                {"nested": {"line": "a\nb"}},
            ][i % 5],
            "tag_ids": [(6, 0, tag_ids[: i % 3])],
        }
        if i % 4:
            vals["short"] = text[:10]
        if i % 3:
            vals["flag"] = bool(i % 2)
        if i % 5:
            vals["kind"] = "b" if i % 2 else "a"
        vals_list.append(vals)
    return vals_list


def stored_rows(env, ids):
    """The rows as the database holds them (not the ORM's cache), in id order."""
    columns = ", ".join(f'"{c}"' for c in COLUMNS)
    placeholders = ", ".join(["%s" if is_postgres(env.db) else "?"] * len(ids))
    cursor = env.db.execute_sql(
        f"SELECT {columns} FROM copy_record WHERE id IN ({placeholders}) ORDER BY id", list(ids)
    )
    return [tuple(row) for row in cursor.fetchall()]


def tag_links(env, records):
    return [tuple(r.tag_ids.ids) for r in records]


def create_both_ways(env, copies):
    """The same rows created once as one large batch and once in small batches."""
    tags = env["copy.tag"].create([{"name": f"T{i}"} for i in range(3)])
    big = env["copy.record"].create(make_vals(N, tags.ids, "R"))
    # (the history of a large create is large too: its messages go through COPY as well)
    if is_postgres(env.db):
        assert copies[0] == ("copy.record", N)
        assert ("mail.message", N) in copies
    else:
        assert copies == []
    copies.clear()
    small = env["copy.record"]
    vals = make_vals(N, tags.ids, "R")
    for vals_chunk in (vals[i : i + SMALL] for i in range(0, N, SMALL)):
        for v in vals_chunk:
            v["code"] = "small-" + v["code"]
        small |= env["copy.record"].create(vals_chunk)
    assert not [c for c in copies if c[0] == "copy.record"]  # small batches: plain INSERTs
    return tags, big, small


def test_large_create_stores_what_insert_stores_for_every_kind(registry, copies):
    with registry.transaction() as env:
        tags, big, small = create_both_ways(env, copies)
        big_ids, small_ids = big.ids, small.ids
        env.invalidate_all()
        big_rows, small_rows = stored_rows(env, big_ids), stored_rows(env, small_ids)
        code = COLUMNS.index("code")
        assert len(big_rows) == len(small_rows) == N
        for i, (a, b) in enumerate(zip(big_rows, small_rows, strict=True)):
            b = list(b)
            b[code] = b[code].removeprefix("small-")
            assert list(a) == b, f"row {i}"
        assert tag_links(env, big) == tag_links(env, small)
        assert tag_links(env, big)[:3] == [(), (tags.ids[0],), tuple(tags.ids[:2])]
        # and what was stored is what was given, read back through the ORM from the database
        env.invalidate_all()
        vals = make_vals(N, tags.ids, "R")
        for i in range(len(TEXTS) * 2):
            record, given = big[i], vals[i]
            assert record.name == given["name"]
            assert record.note == given["note"]
            assert record.name_upper == given["name"].upper()
        assert big[0].count == 0 and big[3].count == 2**62 and big[4].count is None
        assert big[0].ratio == 0.1 and big[1].ratio == 1e-300 and big[2].ratio == 1e300
        assert big[4].ratio == float("inf") and big[6].ratio is None
        assert big[0].rounded == 1.0 and big[1].rounded == 2.67 and big[3].rounded == 3.0
        assert [big[i].amount for i in range(7)] == [
            Decimal("12.35"),
            Decimal("-0.01"),
            Decimal("100000000000000000.00"),
            Decimal("5.00"),
            None,
            Decimal("0.10"),
            Decimal("1000.00"),
        ]
        assert [big[i].flag for i in range(4)] == [True, True, False, True]
        assert [big[i].kind for i in range(6)] == ["a", "b", "a", "b", "a", "a"]
        assert [big[i].day for i in range(4)] == [
            datetime.date(2024, 2, 29),
            datetime.date(2023, 12, 31),
            None,
            datetime.date(1, 1, 1),
        ]
        assert [big[i].moment for i in range(5)] == [
            datetime.datetime(2024, 3, 1, 12, 30, 45, 123456),
            datetime.datetime(2024, 3, 1, 9, 30),  # naive UTC
            datetime.datetime(2024, 6, 30, 23, 59, 59),
            None,
            datetime.datetime(2020, 1, 2),
        ]
        assert big[0].data == {"a": [1, "x\ty"], "ru": "да", "slash": "\\"}
        assert big[1].data == [1, 2.5, None] and big[3].data is None
        assert big[0].tag_id == tags[0] and not big[2].tag_id
        assert big[0].short is None and big[1].short == TEXTS[1][:10]


def test_ids_follow_the_vals_and_the_sequence_goes_on(registry, copies):
    with registry.transaction() as env:
        tag = env["copy.tag"].create({"name": "T"})
        vals = [{"name": f"N{i}", "tag_id": tag.id} for i in range(N)]
        records = env["copy.record"].create(vals)
        ids = records.ids
        assert ids == sorted(ids) and len(set(ids)) == N
        assert [r.name for r in records] == [v["name"] for v in vals]
        env.invalidate_all()
        by_id = dict(env.db.execute_sql("SELECT id, name FROM copy_record").fetchall())
        assert [by_id[i] for i in ids] == [v["name"] for v in vals]
        after = env["copy.record"].create({"name": "next"})
        assert after.id == ids[-1] + 1
        again = env["copy.record"].create([{"name": f"M{i}"} for i in range(N)])
        assert again.ids[0] == after.id + 1
    with registry.transaction() as env:
        assert env["copy.record"].create({"name": "later"}).id == again.ids[-1] + 1
    if is_postgres(registry.db):
        assert [c for c in copies if c[0] == "copy.record"] == [("copy.record", N)] * 2


def test_hooks_history_and_webhooks_as_with_insert(registry, copies, created_hook):
    with registry.transaction() as env:
        hook = env["ir.webhook"].create(
            {
                "name": "Copy",
                "model": "copy.record",
                "url": "http://127.0.0.1:9/never",
                "field_names": "name,note,amount,day,moment,data,tag_id",
            }
        )
        hook_id = hook.id
    with pytest.raises(_Stop), registry.transaction() as env:  # nothing is sent
        tags, big, small = create_both_ways(env, copies)
        record_hooks = [c for c in created_hook if c[0] == "copy.record"]
        assert record_hooks[0] == ("copy.record", big.ids)
        assert [i for c in record_hooks[1:] for i in c[1]] == small.ids

        def history(record):
            return [(h["event"], h["changes"]) for h in record.message_history()]

        for i in (0, 1, 2, 5, N - 1):
            assert history(big[i]) == history(small[i])
            assert history(big[i])[0][0] == "created"
        changes = [(c["field"], c["old"], c["new"]) for c in history(big[1])[0][1]]
        assert changes == [("kind", None, "B"), ("tag_id", None, "T1")]
        messages = env["mail.message"].search_count(
            [("model", "=", "copy.record"), ("res_id", "in", big.ids), ("event", "=", "created")]
        )
        assert messages == N

        deliveries = env["ir.webhook.delivery"].search([("webhook_id", "=", hook_id)], order="id")
        payloads = deliveries.mapped("payload")
        assert payloads[0]["ids"] == big.ids
        assert [i for p in payloads[1:] for i in p["ids"]] == small.ids

        def without_ids(records):
            return [{k: v for k, v in r.items() if k != "id"} for r in records]

        small_records = [r for p in payloads[1:] for r in p["records"]]
        assert without_ids(payloads[0]["records"]) == without_ids(small_records)
        raise _Stop


class _Stop(Exception):
    pass


def test_ids_of_a_sequence_that_skips_numbers(registry, copies):
    """Numbers other sessions took in between (here: a sequence counting by 3) are not
    the batch's: the ids are the ones the sequence gave, ascending, in the order of the vals."""
    if not is_postgres(registry.db):
        pytest.skip("SQLite has no sequences")
    with registry.transaction() as env:
        env.db.execute_sql("ALTER SEQUENCE copy_record_id_seq INCREMENT BY 3")
        first = env["copy.record"].create({"name": "first"})
        records = env["copy.record"].create([{"name": f"K{i}"} for i in range(N)])
        assert records.ids == [first.id + 3 * (i + 1) for i in range(N)]
        env.invalidate_all()
        assert [r.name for r in records] == [f"K{i}" for i in range(N)]
    assert [c for c in copies if c[0] == "copy.record"] == [("copy.record", N)]


def test_a_unique_violation_rolls_the_whole_create_back(registry, copies):
    vals = [{"name": f"U{i}", "code": f"c{i}"} for i in range(N)]
    vals[N - 5]["code"] = "c3"
    with pytest.raises(ValidationError) as big_error, registry.transaction() as env:
        env["copy.record"].create(vals)
    with pytest.raises(ValidationError) as small_error, registry.transaction() as env:
        env["copy.record"].create([{"name": "a", "code": "x"}, {"name": "b", "code": "x"}])
    assert str(big_error.value) == str(small_error.value) == "Another record has this code."
    assert big_error.value.field == small_error.value.field == "code"
    with registry.transaction() as env:
        assert env["copy.record"].search_count([]) == 0
        # the sequence lost the numbers, as after a failed INSERT, and goes on
        assert env["copy.record"].create({"name": "after"}).id > 0


def test_a_failure_inside_a_savepoint_leaves_the_transaction_usable(registry, copies):
    with registry.transaction() as env:
        env["copy.record"].create({"name": "first", "code": "dup"})
        vals = [{"name": f"S{i}", "code": f"s{i}"} for i in range(N)]
        vals[10]["code"] = "dup"
        with pytest.raises(ValidationError), env.atomic():
            env["copy.record"].create(vals)
        vals[10]["code"] = "s10"
        records = env["copy.record"].create(vals)
        assert len(records) == N
    with registry.transaction() as env:
        assert env["copy.record"].search_count([]) == N + 1


def test_a_missing_record_and_a_python_constraint_fail_as_with_insert(registry, copies):
    vals = [{"name": f"F{i}"} for i in range(N)]
    vals[7]["tag_id"] = 987654
    with pytest.raises(UserError) as big_error, registry.transaction() as env:
        env["copy.record"].create(vals)
    with pytest.raises(UserError) as small_error, registry.transaction() as env:
        env["copy.record"].create([{"name": "a", "tag_id": 987654}])
    assert type(big_error.value) is type(small_error.value)
    assert str(big_error.value) == str(small_error.value)
    assert "CONTEXT" not in str(big_error.value)
    vals[7]["tag_id"] = None
    vals[N - 1]["count"] = -1
    with pytest.raises(ValidationError, match="cannot be negative"), registry.transaction() as env:
        env["copy.record"].create(vals)
    with registry.transaction() as env:
        assert env["copy.record"].search_count([]) == 0
        assert env["mail.message"].search_count([("model", "=", "copy.record")]) == 0


def test_a_value_copy_cannot_carry_goes_through_insert(registry, copies):
    """PostgreSQL text cannot hold NUL: the batch falls back to INSERT, which refuses it
    with the same error as a small batch."""
    if not is_postgres(registry.db):
        pytest.skip("SQLite stores NUL characters")
    vals = [{"name": f"Z{i}"} for i in range(N)]
    vals[3]["note"] = "nul \x00 inside"
    errors = []
    for batch in (vals, [vals[3]]):
        with pytest.raises(Exception) as info, registry.transaction() as env:
            env["copy.record"].create(batch)
        errors.append(info.value)
    assert type(errors[0]) is type(errors[1]) and str(errors[0]) == str(errors[1])
    assert copies == []
    with registry.transaction() as env:
        assert env["copy.record"].search_count([]) == 0
