"""Import of a 100 000-row CSV into ``bench.lead``: rows per second and peak memory.

The file has 10 columns as people export them from a spreadsheet: an external id, name,
e-mail, the partner by name (a many2one looked up per column, not per row), the stage by
its label, priority, active as да/нет, expected revenue as ``12 345,67``, probability with
a decimal comma and a deadline-like text column that goes unmapped. ``seconds`` covers
reading, conversion, lookups and the batched creates, in one transaction; the dry run
does the same work and rolls back. Peak memory is tracemalloc's peak during the import
(Python allocations: the file's text, the rows of a batch and the ORM's cache), measured in
a second, separate run because tracing slows Python down.

    python bench/bench_import.py [--rows 100000] [--partners 1000] [--db sqlite|postgresql|all]
"""

from __future__ import annotations

import argparse
import random
import time
import tracemalloc

import common

from core.io import export_xlsx, importer

LABELS = ["New", "Qualified", "Proposal", "Won", "Lost"]
STAGES = [label.lower() for label in LABELS]
HEADERS = ["id", "Name", "E-mail", "Partner", "Stage", "Priority", "Active"]
HEADERS += ["Expected revenue", "Probability", "Comment"]


def make_csv(rows: int, partners: int, seed: int = 7) -> bytes:
    rnd = random.Random(seed)
    lines = [";".join(HEADERS)]
    for i in range(rows):
        revenue = f"{rnd.randint(100, 999_999):,}".replace(",", "\u00a0")
        lines.append(
            ";".join(
                [
                    f"lead_{i:06d}",
                    f"Lead {i:06d}",
                    f"lead{i}@example.com",
                    f"Partner {i % partners:05d}",
                    LABELS[i % len(LABELS)],
                    str(i % 4),
                    "да" if i % 7 else "нет",
                    f"{revenue},{i % 100:02d}",
                    f"{rnd.choice((0, 10, 25, 50, 75, 90))},5",
                    "free text, not imported",
                ]
            )
        )
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")


def run(kind: str, rows: int, partners: int):
    content = make_csv(rows, partners)
    with common.bench_database(kind) as (_config, registry):
        with registry.transaction() as env:
            env["bench.partner"].create(common.partner_vals(partners))
        mapping = None
        with registry.transaction() as env:
            shown = importer.preview(env, "bench.lead", content, "leads.csv")
            mapping = shown["mapping"]
        assert mapping.count(None) == 1, mapping  # only the comment column is left out

        def one(dry_run):
            with registry.transaction() as env:
                return importer.import_file(
                    env, "bench.lead", content, "leads.csv", mapping=mapping, dry_run=dry_run
                )

        seconds, result = common.timed(one, True)
        assert result.errors == [] and result.created == rows, result.errors[:3]
        common.emit(
            "import_dry_run",
            db=kind,
            rows=rows,
            seconds=seconds,
            rows_per_second=round(rows / seconds),
        )
        seconds, result = common.timed(one, False)
        assert result.errors == [] and result.created == rows, result.errors[:3]
        with registry.transaction() as env:
            assert env["bench.lead"].with_context(active_test=False).search_count([]) == rows
        reimport(kind, registry, rows)
        with registry.transaction() as env:
            env.db.execute_sql("DELETE FROM bench_lead")
            env.db.execute_sql("DELETE FROM ir_model_data WHERE module = '__import__'")
        tracemalloc.start()
        start = time.perf_counter()
        one(False)
        traced = time.perf_counter() - start
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        common.emit(
            "import_csv",
            db=kind,
            rows=rows,
            columns=len(HEADERS),
            file_mb=round(len(content) / 2**20, 2),
            seconds=seconds,
            rows_per_second=round(rows / seconds),
            target_rows_per_second=20_000,
            peak_python_mb=round(peak / 2**20, 1),
            seconds_with_tracemalloc=traced,
            **common.environment_info(),
        )


EXPORTED = ["id", "name", "email", "partner_id", "stage", "priority", "active"]
EXPORTED += ["expected_revenue", "probability"]


def reimport(kind, registry, rows):
    """Export every lead to CSV, import the file back unchanged, then with one column changed."""

    def export():
        with registry.transaction() as env:
            every = env.with_context(active_test=False)  # archived leads too
            return export_xlsx.export_records(every, "bench.lead", EXPORTED, domain=[])[0]

    seconds, content = common.timed(export)
    common.emit(
        "export_csv", db=kind, rows=rows, seconds=seconds, rows_per_second=round(rows / seconds)
    )

    def again(data):
        with registry.transaction() as env:
            return importer.import_file(env, "bench.lead", data, "leads.csv")

    seconds, result = common.timed(again, content)
    assert result.errors == [] and result.updated == rows, result.errors[:3]
    common.emit(
        "reimport_unchanged",
        db=kind,
        rows=rows,
        seconds=seconds,
        rows_per_second=round(rows / seconds),
    )
    lines = content.decode("utf-8-sig").split("\r\n")
    stage = EXPORTED.index("stage")
    for i in range(1, len(lines) - 1):  # every lead moves to the next stage
        cells = lines[i].split(",")
        cells[stage] = STAGES[(STAGES.index(cells[stage]) + 1) % len(STAGES)]
        lines[i] = ",".join(cells)
    seconds, result = common.timed(again, "\r\n".join(lines).encode())
    assert result.errors == [] and result.updated == rows, result.errors[:3]
    common.emit(
        "reimport_stage_changed",
        db=kind,
        rows=rows,
        seconds=seconds,
        rows_per_second=round(rows / seconds),
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--partners", type=int, default=1000)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "all"), default="sqlite")
    args = parser.parse_args(argv)
    for kind in common.database_kinds(args.db, "import"):
        run(kind, args.rows, args.partners)


if __name__ == "__main__":
    main()
