"""Document numbers: unique and gapless under concurrent processes, reset every year."""

from __future__ import annotations

import datetime
import multiprocessing
import time
import traceback

import pytest

from core.exceptions import UserError
from core.modules.loading import load_registry

WORKERS = 8
PER_WORKER = 200


def _take_numbers(config, code, count, barrier, results):
    """One worker process: its own registry and connection, one transaction per number."""
    try:
        registry = load_registry(config)
        registry.db.connect(reuse_if_open=True)
        barrier.wait(timeout=60)
        taken = []
        for _ in range(count):
            with registry.transaction() as env:
                taken.append(env["ir.sequence"].next_by_code(code))
            time.sleep(0.001)  # let the others in between, as real requests would
        registry.db.close()
        results.put(("ok", taken))
    except BaseException:
        results.put(("error", traceback.format_exc()))


def _create_sequence(registry, code, **values):
    with registry.transaction() as env:
        env["ir.sequence"].create({"name": code, "code": code, **values})


def _run_concurrently(config, code, workers, per_worker):
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(workers)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_take_numbers, args=(config, code, per_worker, barrier, results))
        for _ in range(workers)
    ]
    for proc in procs:
        proc.start()
    try:
        outcomes = [results.get(timeout=180) for _ in procs]
    finally:
        for proc in procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.terminate()
    errors = [payload for status, payload in outcomes if status == "error"]
    assert not errors, errors[0]
    return [payload for _status, payload in outcomes]


def test_concurrent_processes_get_distinct_numbers_without_gaps(registry, config):
    _create_sequence(registry, "sale.quotation", prefix="QT/%(year)s/", padding=5)
    registry.db.close()
    per_process = _run_concurrently(config, "sale.quotation", WORKERS, PER_WORKER)
    numbers = [number for taken in per_process for number in taken]

    total = WORKERS * PER_WORKER
    year = datetime.date.today().year
    assert len(numbers) == total
    assert len(set(numbers)) == total
    assert sorted(numbers) == [f"QT/{year}/{n:05d}" for n in range(1, total + 1)]
    # The processes really ran at the same time: their numbers interleave.
    interleaved = [
        any(int(b[-5:]) != int(a[-5:]) + 1 for a, b in zip(t, t[1:], strict=False))
        for t in per_process
    ]
    assert sum(interleaved) >= 2
    # Each process saw its own numbers grow.
    assert all(t == sorted(t) for t in per_process)
    with registry.transaction() as env:
        assert env["ir.sequence"].next_by_code("sale.quotation") == f"QT/{year}/{total + 1:05d}"


def test_concurrent_processes_without_yearly_reset(registry, config):
    _create_sequence(registry, "stock.move", prefix="MV-", padding=4, use_date_range=False)
    registry.db.close()
    numbers = [n for taken in _run_concurrently(config, "stock.move", 4, 50) for n in taken]
    assert sorted(numbers) == [f"MV-{n:04d}" for n in range(1, 201)]


def test_numbers_restart_every_year(registry):
    _create_sequence(registry, "sale.quotation", prefix="QT/%(year)s/", padding=5)
    dec = datetime.date(2025, 12, 31)
    jan = datetime.date(2026, 1, 1)
    with registry.transaction() as env:
        seq = env["ir.sequence"]
        assert [seq.next_by_code("sale.quotation", dec) for _ in range(3)] == [
            "QT/2025/00001",
            "QT/2025/00002",
            "QT/2025/00003",
        ]
        assert seq.next_by_code("sale.quotation", jan) == "QT/2026/00001"
        assert seq.next_by_code("sale.quotation", dec) == "QT/2025/00004"
        assert seq.next_by_code("sale.quotation", jan) == "QT/2026/00002"


def test_rolled_back_transaction_does_not_consume_a_number(registry):
    _create_sequence(registry, "sale.order", prefix="SO%(y)s-", padding=3, use_date_range=False)
    day = datetime.date(2026, 5, 4)
    with registry.transaction() as env:
        assert env["ir.sequence"].next_by_code("sale.order", day) == "SO26-001"
    with pytest.raises(RuntimeError), registry.transaction() as env:
        assert env["ir.sequence"].next_by_code("sale.order", day) == "SO26-002"
        raise RuntimeError("the order could not be saved")
    with registry.transaction() as env:
        assert env["ir.sequence"].next_by_code("sale.order", day) == "SO26-002"

    _create_sequence(registry, "sale.quotation", prefix="QT/%(year)s/", padding=5)
    with pytest.raises(RuntimeError), registry.transaction() as env:
        env["ir.sequence"].next_by_code("sale.quotation", day)  # creates this year's counter
        raise RuntimeError("rolled back")
    with registry.transaction() as env:
        assert env["ir.sequence"].next_by_code("sale.quotation", day) == "QT/2026/00001"


def test_unknown_code_and_bad_prefix_are_clear_errors(registry):
    _create_sequence(registry, "bad", prefix="X/%(century)s/")
    with registry.transaction() as env:
        with pytest.raises(UserError, match="No sequence with code 'nope'"):
            env["ir.sequence"].next_by_code("nope")
        with pytest.raises(UserError, match="Sequence bad: bad placeholder"):
            env["ir.sequence"].next_by_code("bad")
