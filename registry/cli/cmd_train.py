"""``genzoo train``: train a registered model on a data source, or resume a run."""

from __future__ import annotations

import click

from genzoo.core.config import parse_assignments
from genzoo.core.errors import GenzooError
from genzoo.core.rundir import RunDir

from ..models.overrides import split_overrides
from ..zoo import get_zoo


@click.command()
@click.argument("name", required=False)
@click.option("--data", "data", default=None, help="mnist, fashion-mnist, cifar10, digits, a folder, or unpaired:A,B.")
@click.option("--data-root", default=None, help="Where named datasets live ($GENZOO_DATA, ~/.cache/genzoo/data).")
@click.option("--steps", type=int, default=None, help="Optimisation steps.")
@click.option("--epochs", type=int, default=None, help="Passes over the data (overrides --steps).")
@click.option("--out", default=None, help="Run directory (default runs/NAME).")
@click.option("--resume", default=None, help="Continue the run in this directory.")
@click.option("--set", "assignments", multiple=True, help="Override a field: key=value, train.key=value, ...")
@click.option("--eval-every", type=int, default=None,
              help="Score the model every N steps (logged as eval.<metric>) and at the end; the final scores go "
                   "into pretrained/config.json and the model card with their protocol (as `eval --card`).")
@click.option("--eval-metrics", default="fid", show_default=True, help="Metrics for --eval-every, e.g. fid,kid.")
@click.option("--eval-n", type=int, default=2000, show_default=True,
              help="Samples per evaluation (the protocol's n_fake and n_real; real: the data's test split).")
@click.option("--eval-features", default=None, help="Feature extractor (default: the data's zoo evaluator).")
def train(name: str | None, data: str | None, data_root: str | None, steps: int | None, epochs: int | None,
          out: str | None, resume: str | None, assignments: tuple[str, ...], eval_every: int | None,
          eval_metrics: str, eval_n: int, eval_features: str | None) -> None:
    """Train NAME on --data (or continue --resume RUN_DIR)."""
    if not name and not resume:
        raise GenzooError("give a model NAME (see `genzoo list`) or --resume RUN_DIR.")
    overrides = {"model": {}, "train": {}, "preprocessing": {}}
    if assignments:  # routed by the model they apply to, a resumed run's own; training.train says what may change
        model = RunDir(resume).read()["model"] if resume else name
        overrides = split_overrides(get_zoo().model(model), parse_assignments(assignments))
    if eval_every is not None:
        overrides["train"]["eval_every"] = eval_every
    # Deferred: it imports torch, and `genzoo list` and `genzoo --help` must not.
    from ..training.train import train as run_training

    result = run_training(name, data, steps=steps, epochs=epochs, out=out, resume=resume, config=overrides["model"],
                       train=overrides["train"], preprocessing=overrides["preprocessing"], data_root=data_root,
                       eval_metrics=eval_metrics, eval_n=eval_n, eval_features=eval_features)
    losses = "  ".join(f"{k}={v:.4g}" for k, v in result.logs.items() if k.endswith("loss"))
    click.echo(f"trained {result.step} steps{f' ({result.stopped})' if result.stopped else ''}: {losses}")
    if result.scores:
        n = result.scores[0].protocol.n_fake
        scores = "  ".join(f"{s.name}={s.value:.4g}" for s in result.scores)
        click.echo(f"final scores (n={n}, recorded in the model card): {scores}")
    click.echo(f"run: {result.run_dir}   weights: {result.pretrained_dir}")
