"""Run every benchmark script (bench/bench_*.py) in turn; each prints JSON lines.

    python bench/run_all.py [--only create search] [--db sqlite|postgresql|all]

``--db`` is passed to the scripts that accept it (create: sqlite by default, search: all).
A last line ``{"bench": "run_all", ...}`` lists the scripts that failed; the exit status is
non-zero when one did.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TAKES_DB = {
    "bench_access",
    "bench_api",
    "bench_contacts",
    "bench_create",
    "bench_crm",
    "bench_import",
    "bench_pivot",
    "bench_search",
    "bench_trigram",
    "bench_web",
}


def scripts(only=None) -> list[Path]:
    found = sorted(HERE.glob("bench_*.py"))
    if only:
        found = [p for p in found if p.stem.removeprefix("bench_") in only or p.stem in only]
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="script names, e.g. create search")
    parser.add_argument(
        "--db",
        choices=("sqlite", "postgresql", "all"),
        help="passed to the scripts that take it (access, create, search)",
    )
    args = parser.parse_args(argv)
    failed = []
    start = time.perf_counter()
    selected = scripts(args.only)
    for script in selected:
        command = [sys.executable, str(script)]
        if args.db and script.stem in TAKES_DB:
            command += ["--db", args.db]
        result = subprocess.run(command, cwd=HERE, stdout=sys.stdout, stderr=sys.stderr)
        if result.returncode != 0:
            failed.append(script.stem)
    summary = {
        "bench": "run_all",
        "scripts": [p.stem for p in selected],
        "failed": failed,
        "seconds": round(time.perf_counter() - start, 3),
    }
    print(json.dumps(summary), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
