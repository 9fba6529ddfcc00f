"""``genzoo bench``: run a benchmark suite from zoo.toml, list suites, compare two results.

``genzoo bench SUITE ...`` is short for ``genzoo bench run SUITE ...``: a first argument that
is not a subcommand is taken as a suite name (so a suite cannot be called "run", "list" or
"compare").
"""

from __future__ import annotations

import dataclasses
import json
import shlex
import sys

import click

from genzoo.core.errors import GenzooError

from ..benchmark.compare import compare_results, compare_table, load_results
from ..benchmark.executors import parse_executor
from ..benchmark.report import terminal_table
from ..benchmark.suite import list_suites, load_suite
from .run_group import RunByDefault, wide_console


class _SuiteGroup(RunByDefault):
    usage = "SUITE [OPTIONS] | run SUITE [OPTIONS] | list | compare A.json B.json"


@click.group("bench", cls=_SuiteGroup)
def command() -> None:
    """Benchmark models against each other: `genzoo bench SUITE [--out DIR] [--models PAT] [--seeds N] [--jobs K]`.

    Trains (or pulls) every model of a zoo.toml suite, scores all of them under one protocol
    and writes results.json/csv/md and report.html. Run the same command again after an
    interruption: finished cells are reused.
    """


@command.command("run")
@click.argument("suite")
@click.option("--out", default=None, help="Output folder (default bench-results/SUITE).")
@click.option("--models", "models", default=None,
              help="Run only the models matching these fnmatch patterns (comma-separated); the other models' cells "
                   "already finished in OUT stay in the reports.")
@click.option("--seeds", type=int, default=None, help="Seeds per model: 0..N-1 (default: the suite's).")
@click.option("--seed", type=int, default=None,
              help="First training seed: the cells train with seeds S..S+N-1 (N: --seeds or the suite's count), each "
                   "the cell's train.seed. The evaluation seed is the suite protocol's and does not change.")
@click.option("--jobs", type=int, default=1, show_default=True, help="Cells run in parallel worker processes.")
@click.option("--executor", default="local", show_default=True,
              help="Where cells run: local (the --jobs process pool), ray[:ADDRESS] (a task per cell) or "
                   "slurm[:PARTITION] (a job array with the suite's resources); OUT must be shared with the workers.")
@click.option("--data-root", default=None, help="Where named datasets live ($GENZOO_DATA, ~/.cache/genzoo/data).")
def run(suite: str, out: str | None, models: str | None, seeds: int | None, seed: int | None, jobs: int,
        executor: str, data_root: str | None) -> None:
    """Run SUITE (see `genzoo bench list`)."""
    # Deferred: it imports torch, and `genzoo list` and `genzoo --help` must not.
    from ..benchmark.runner import run_suite

    con = wide_console()
    s = load_suite(suite).with_seeds(seeds)
    s.select(models)  # --models that match nothing fail here, before any work
    if seed is not None:
        if seed < 0:
            raise GenzooError(f"--seed must be 0 or more (got {seed}).")
        s = dataclasses.replace(s, seeds=tuple(range(seed, seed + len(s.seeds))))
    target = out or f"bench-results/{s.name}"
    engine = parse_executor(executor, s.resources, target)
    try:
        summary = run_suite(s, target, jobs=jobs, data_root=data_root, log=lambda m: con.print(m, highlight=False),
                            models=models,
                            command=_command_line(suite, out, models, seeds, seed, jobs, data_root, executor),
                            executor=engine)
    except KeyboardInterrupt as exc:  # Ctrl-C, or a signal the running cell's trainer checkpointed and passed on
        click.echo(f"interrupted; finished cells are kept in {target}/cells: run the same command to continue.",
                   err=True)
        sys.exit(getattr(exc, "exit_code", 130))
    con.print(terminal_table(summary))
    failed = [f"{m['label']} seed {f['seed']}" for m in summary["models"] for f in m["failed"]]
    if failed:
        con.print(f"[red]{len(failed)} cell(s) failed:[/] {', '.join(failed)}; run the command again to retry them.")
    con.print(f"wrote {target}/results.json, results.csv, results.md, report.html")
    if failed:
        sys.exit(1)


def _command_line(suite: str, out: str | None, models: str | None, seeds: int | None, seed: int | None, jobs: int,
                  data_root: str | None, executor: str = "local") -> str:
    parts = ["genzoo", "bench", suite]
    for flag, value in (("--out", out), ("--models", models), ("--seeds", seeds), ("--seed", seed),
                        ("--data-root", data_root)):
        if value is not None:
            parts += [flag, str(value)]
    if jobs != 1:
        parts += ["--jobs", str(jobs)]
    if executor != "local":
        parts += ["--executor", executor]
    return shlex.join(parts)


@command.command("list")
def list_cmd() -> None:
    """List the suites declared in zoo.toml (and $GENZOO_CATALOG files)."""
    suites = list_suites()
    if not suites:
        raise GenzooError("no benchmark suites are declared; add a [suites.NAME] table to zoo.toml.")
    for name, description in suites.items():
        click.echo(f"{name:24s} {description}")


@command.command("compare")
@click.argument("a")
@click.argument("b")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
def compare(a: str, b: str, as_json: bool) -> None:
    """Differences between two results.json files (B − A), flagging protocol changes and missing models."""
    diff = compare_results(load_results(a), load_results(b))
    if as_json:
        click.echo(json.dumps(diff, indent=2))
        return
    con = wide_console()
    con.print(compare_table(diff, a, b))
    for flag in diff["flags"]:
        con.print(f"[yellow]![/] {flag}", highlight=False)
    if not diff["flags"]:
        con.print("same suite, same protocols, same models.")
