"""Compare two runs of ``run_all.py`` (JSON lines): one line per measurement found in both,
with its main figure before and after and how much better or worse it got.

    python bench/compare.py BEFORE.jsonl AFTER.jsonl [--worse 10]

The main figure of a line is its first of ``FIGURES``; throughput (``rps``, ``per_second``) and
the ratios against a raw baseline are better higher, times better lower. The exit status is
1 when a figure got worse by more than ``--worse`` per cent.
"""

from __future__ import annotations

import argparse
import json
import sys

# The main figure of a measurement, in order of preference, and whether higher is better.
FIGURES = (
    ("api_rps", True),
    ("ratio_vs_raw", True),
    ("per_second", True),
    ("rows_per_second", True),
    ("orm_rows_per_s", True),
    ("after_ms", False),
    ("median_ms", False),
    ("salesman_ms", False),
    ("ms", False),
    ("seconds", False),
)
# What tells two measurements of one benchmark apart (besides bench and db).
KEYS = ("path", "page_cache", "user", "tz", "kind", "pattern", "scenario")


def read(path) -> dict:
    found = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line.startswith("{"):
                continue
            row = json.loads(line)
            if row.get("bench") == "run_all" or "skipped" in row:
                continue
            key = (row["bench"], row.get("db"), *(row.get(k) for k in KEYS))
            found[key] = row
    return found


def figure(row):
    for name, higher in FIGURES:
        if isinstance(row.get(name), int | float):
            return name, row[name], higher
    return None


def compare(before: dict, after: dict, worse: float):
    lines, bad = [], []
    for key in sorted(set(before) & set(after), key=lambda k: tuple(map(str, k))):
        found = figure(before[key])
        if found is None or figure(after[key]) is None:
            continue
        name, old, higher = found
        new = after[key].get(name)
        if not isinstance(new, int | float) or not old:
            continue
        change = (new / old - 1) * 100 if higher else (old / new - 1) * 100 if new else 0.0
        label = " ".join(str(part) for part in key if part is not None)
        row = {
            "measure": label,
            "figure": name,
            "before": old,
            "after": new,
            "better_pct": round(change, 1),
        }
        lines.append(row)
        if change < -worse:
            bad.append(row)
    return lines, bad


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--worse", type=float, default=10.0, help="per cent allowed")
    args = parser.parse_args(argv)
    lines, bad = compare(read(args.before), read(args.after), args.worse)
    for row in lines:
        print(json.dumps(row, ensure_ascii=False))
    print(json.dumps({"bench": "compare", "measures": len(lines), "worse_than_allowed": len(bad)}))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
