"""``genzoo evaluator``: train the zoo's own feature extractors (LeNet for MNIST-family, ResNet for CIFAR-10)."""

from __future__ import annotations

import json

import click

from genzoo.core.errors import GenzooError
from genzoo.core.metrics.extractors.defaults import EVALUATORS


@click.group("evaluator")
def command() -> None:
    """Train and inspect the classifiers that metrics use as feature extractors."""


@command.command("train")
@click.argument("data", type=click.Choice(["mnist", "fashion-mnist", "cifar10"]))
@click.option("--steps", type=int, default=None, help="Optimisation steps (default: 3 epochs).")
@click.option("--batch-size", type=int, default=128, show_default=True)
@click.option("--lr", type=float, default=2e-3, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--limit", type=int, default=0, help="Use only the first N training images (quick checks).")
@click.option("--data-root", default=None, help="Where named datasets live.")
@click.option("--out", default=None,
              help="Folder to write (default: the evaluators dir, e.g. ~/.cache/genzoo/evaluators/NAME).")
def train(data: str, steps: int | None, batch_size: int, lr: float, seed: int, limit: int,
          data_root: str | None, out: str | None) -> None:
    """Train the evaluator for DATA on its train split and report its test accuracy."""
    # Deferred: it imports torch, and `genzoo list` and `genzoo --help` must not.
    from ..evaluation.evaluators import train_evaluator_for

    if batch_size < 1 or (steps is not None and steps < 1):
        raise GenzooError("--steps and --batch-size must be positive.")
    path, record = train_evaluator_for(data, steps=steps, batch_size=batch_size, lr=lr, seed=seed, limit=limit,
                                       data_root=data_root, out=out, echo=click.echo)
    click.echo(f"test accuracy {record['test_accuracy']:.4f} on {record['test_images']} images "
               f"({record['steps']} steps, {record['train_seconds']} s)")
    click.echo(f"saved evaluator: {path}")


@command.command("list")
def list_cmd() -> None:
    """Show which evaluators are trained and their accuracy."""
    # Deferred: it imports torch, and `genzoo list` and `genzoo --help` must not.
    from genzoo.core.metrics.extractors.evaluator import CONFIG, evaluators_dir

    root = evaluators_dir()
    for data, (_, name) in EVALUATORS.items():
        cfg = root / name / CONFIG
        if cfg.is_file():
            info = json.loads(cfg.read_text())
            click.echo(f"{name:22s} {data:14s} test accuracy {info['test_accuracy']:.4f}  {root / name}")
        else:
            click.echo(f"{name:22s} {data:14s} not trained (genzoo evaluator train {data})")
