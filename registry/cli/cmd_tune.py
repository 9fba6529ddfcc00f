"""``genzoo tune``: tune a model's hyperparameters with Optuna, and show a study.

``genzoo tune NAME ...`` is short for ``genzoo tune run NAME ...``: a first argument that is not a
subcommand is taken as the model's name (so ``run`` and ``show`` name the subcommands).
"""

from __future__ import annotations

import sys

import click
from rich.table import Table

from ..tuning.show import show_study
from .run_group import RunByDefault, wide_console


class _ModelGroup(RunByDefault):
    usage = "NAME [OPTIONS] | run NAME [OPTIONS] | show --storage URL --study NAME"


@click.group("tune", cls=_ModelGroup)
def command() -> None:
    """Tune hyperparameters with Optuna: `genzoo tune NAME --data SRC --space SPACE --trials N --metric fid`.

    Each trial trains NAME with the searched values (the fields `--set` accepts) in OUT/trial-NNNN,
    is scored with the evaluation protocol, and may be pruned early from its --eval-every scores.
    The study lives in --storage (default sqlite:///OUT/study.db): run the same command again, or
    on other machines against one PostgreSQL URL, to continue it. Needs `pip install 'genzoo[tune]'`.
    """


@command.command("run")
@click.argument("name")
@click.option("--data", default=None, help="Training data (default: the model's); the protocol's real data too.")
@click.option("--space", "space", multiple=True,
              help="Search space: a TOML file ([tune.NAME] table or top-level fields) or inline TOML, e.g. "
                   "'lr = { low = 1e-4, high = 1e-2, log = true }' or 'latent_dim = [16, 32]' (repeatable; "
                   "default: the catalog's [tune.NAME]).")
@click.option("--sampler", default="tpe", show_default=True, help="grid, random or tpe.")
@click.option("--trials", type=int, default=None,
              help="Finished trials (complete or pruned) the study should hold (default 20; grid: its size).")
@click.option("--metric", default="fid", show_default=True,
              help="What a trial is scored by: fid, kid, bpd, ... or METRIC:SCORE (pr:recall).")
@click.option("--direction", default=None, help="minimize or maximize (default: the metric's own).")
@click.option("--storage", default=None, help="Optuna storage URL (default sqlite:///OUT/study.db); e.g. "
                                              "postgresql+psycopg://USER:PASS@HOST/DB to share one study.")
@click.option("--study", "study", default=None, help="Study name (default: NAME).")
@click.option("--pruner", default="median", show_default=True, help="median (median:N to wait for N trials), "
                                                                    "hyperband or none; needs --eval-every.")
@click.option("--eval-every", type=int, default=0, show_default=True,
              help="Score every N steps and report to the pruner (0: only the final score).")
@click.option("--eval-n", type=int, default=2000, show_default=True, help="Samples (and real images) per score.")
@click.option("--eval-features", default=None, help="Feature extractor (default: the data's zoo evaluator).")
@click.option("--steps", type=int, default=None, help="Training steps per trial.")
@click.option("--set", "assignments", multiple=True, help="Fix a field for every trial: key=value, train.key=value.")
@click.option("--seed", type=int, default=None,
              help="train.seed of every trial (the same as --set train.seed=N; default 0); seeds the sampler.")
@click.option("--out", default=None, help="Folder of the trials' run dirs (default tune-results/STUDY).")
@click.option("--data-root", default=None, help="Where named datasets live ($GENZOO_DATA, ~/.cache/genzoo/data).")
@click.option("--heartbeat", type=int, default=60, show_default=True,
              help="Seconds between a running trial's heartbeats; a trial silent for two is retried elsewhere.")
def run(name: str, data: str | None, space: tuple[str, ...], sampler: str, trials: int | None, metric: str,
        direction: str | None, storage: str | None, study: str | None, pruner: str, eval_every: int, eval_n: int,
        eval_features: str | None, steps: int | None, assignments: tuple[str, ...], seed: int | None, out: str | None,
        data_root: str | None, heartbeat: int) -> None:
    """Run (or continue) a study tuning NAME."""
    # Deferred: it imports torch (trials train through genzoo.train), and `genzoo list` and `--help` must not.
    from ..tuning.search import TuneOptions, plan, run_study

    options = TuneOptions(model=name, data=data, space=space, sampler=sampler, trials=trials, metric=metric,
                          direction=direction, storage=storage, study=study, pruner=pruner, eval_every=eval_every,
                          eval_n=eval_n, eval_features=eval_features, steps=steps, assignments=assignments,
                          seed=seed, out=out, data_root=data_root, heartbeat=heartbeat)
    p = plan(options)
    try:
        run_study(p, log=lambda m: click.echo(m))
    except KeyboardInterrupt as exc:  # Ctrl-C, or a signal the running trial's trainer checkpointed and passed on
        click.echo(f"interrupted; study {p.study} keeps its finished trials: run the same command to continue it.",
                   err=True)
        sys.exit(getattr(exc, "exit_code", 130))


@command.command("show")
@click.option("--storage", required=True, help="The study's Optuna storage URL.")
@click.option("--study", "study", required=True, help="The study's name.")
@click.option("--out", default=None, help="Folder for the PNG plots and report.html (default tune-reports/STUDY).")
@click.option("--top", type=int, default=10, show_default=True, help="Best trials in the table.")
def show(storage: str, study: str, out: str | None, top: int) -> None:
    """The best trials of a study as a table; plots (PNG) and report.html in --out."""
    s = show_study(storage, study, out or f"tune-reports/{study}", top=top)
    con = wide_console()
    names = list(dict.fromkeys(k for r in s["best"] for k in r["params"]))
    table = Table(title=f"study {s['study']}: {s['direction']} {s['score']}; "
                        + ", ".join(f"{n} {k}" for k, n in s["counts"].items() if n))
    for col in ("rank", "trial", s["score"], *names, "steps", "seconds", "worker"):
        table.add_column(col, justify="left" if col == "worker" else "right")
    for r in s["best"]:
        params = [f"{v:.4g}" if isinstance(v, float) else str(v) for v in (r["params"].get(n) for n in names)]
        table.add_row(str(r["rank"]), str(r["trial"]), f"{r['value']:.5g}", *params, str(r["steps"] or "-"),
                      str(r["seconds"] or "-"), r["worker"])
    con.print(table)
    if s["result"]:
        con.print(f"result: trial {s['result']['trial']}, weights {s['result']['pretrained']}", highlight=False)
    for note in s["notes"]:
        con.print(f"[yellow]note:[/] {note}", highlight=False)
    con.print(f"wrote {', '.join(s['files'])}", highlight=False)
