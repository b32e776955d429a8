"""Registry build time with every shipped addon (everything under addons/) plus base.

The addons are installed once in a fresh SQLite database; then ``load_registry(config)`` is
timed ``--runs`` times (the addons' modules are imported by then, as in a running server that
rebuilds its registry). The first, cold load is reported separately.

    python bench/bench_registry.py [--runs 20]
"""

from __future__ import annotations

import argparse
import time

import common

from core.modules.discovery import discover
from core.modules.loading import load_registry
from core.modules.manager import AddonManager

TARGET_SECONDS = 0.3


def shipped_addons() -> tuple[list[str], list[str]]:
    """(installable addon names, broken ones) under addons/."""
    found = discover([common.SHIPPED_ADDONS])
    broken = sorted(name for name, info in found.items() if info.error)
    names = sorted(
        name for name, info in found.items() if not info.error and info.source == "folder"
    )
    return names, broken


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args(argv)
    with common.temp_dir() as tmpdir:
        config = common.make_config(
            common.sqlite_url(tmpdir), paths=[common.SHIPPED_ADDONS], tmpdir=tmpdir
        )
        names, broken = shipped_addons()
        AddonManager(config).install(names)
        start = time.perf_counter()
        registry = load_registry(config)
        cold = time.perf_counter() - start
        registry.db.close()
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            registry = load_registry(config)
            times.append(time.perf_counter() - start)
            registry.db.close()
        seconds = common.median(times)
        common.emit(
            "registry_build",
            db="sqlite",
            addons=len(registry.addon_names),
            models=len(registry.models),
            fields=sum(len(cls._fields) for cls in registry.models.values()),
            runs=args.runs,
            seconds=seconds,
            min_seconds=min(times),
            max_seconds=max(times),
            first_load_seconds=cold,
            target_seconds=TARGET_SECONDS,
            meets_target=seconds <= TARGET_SECONDS,
            broken_addons=broken,
            **common.environment_info(),
        )


if __name__ == "__main__":
    main()
