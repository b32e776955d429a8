"""``kontora demo generate``: fill a database with believable data for trying and benchmarks."""

from __future__ import annotations

import sys
import time

import click

from core import load_config, open_registry


def _config():
    root = click.get_current_context().find_root()
    return load_config((root.obj or {}).get("config_path"))


@click.command("generate")
@click.option("--partners", default=0, type=click.IntRange(0, 10_000_000), help="Companies.")
@click.option("--leads", default=0, type=click.IntRange(0, 10_000_000), help="Leads.")
@click.option("--opportunities", default=0, type=click.IntRange(0, 10_000_000), help="Deals.")
@click.option("--activities", default=0, type=click.IntRange(0, 10_000_000), help="Activities.")
@click.option("--seed", default=2026, type=int, help="The same seed gives the same data.")
def generate_command(partners, leads, opportunities, activities, seed):
    """Generate partners, leads, deals and activities in batches, in one transaction."""
    from .demo import generate

    total = partners + leads + opportunities + activities
    if not total:
        raise click.UsageError("Say how many: --partners, --leads, --opportunities, --activities")
    registry = open_registry(_config())
    start = time.perf_counter()
    bar = click.progressbar(length=total, label="Generating", file=sys.stderr)
    with bar, registry.transaction(su=True) as env:
        counts = generate(env, partners, leads, opportunities, activities, seed, bar.update)
    seconds = time.perf_counter() - start
    made = ", ".join(f"{count} {kind}" for kind, count in counts.items() if count)
    click.echo(f"Generated {made} in {seconds:.1f} s")


def add_to(cli):
    """Add ``demo generate`` to the command line (``demo`` may exist from another addon)."""
    group = cli.commands.get("demo")
    if group is None:
        group = click.Group("demo", help="Demo and test data.")
        cli.add_command(group)
    if "generate" not in group.commands:
        group.add_command(generate_command)
