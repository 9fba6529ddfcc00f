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
@click.option("--epochs", type=int, default=None, help="Passes over the data (default: the zoo's recipe for DATA).")
@click.option("--steps", type=int, default=None, help="Optimisation steps instead of whole epochs.")
@click.option("--batch-size", type=int, default=None, help="Default: the recipe's (128 MNIST, 512 CIFAR-10).")
@click.option("--lr", type=float, default=None, help="Peak learning rate (default: the recipe's).")
@click.option("--arch", type=click.Choice(["lenet", "resnet", "resnet9"]), default=None,
              help="Network (default: lenet for MNIST-family, resnet9 for CIFAR-10).")
@click.option("--width", type=int, default=None,
              help="Channels of the first stage (default: the recipe's; 48 for CIFAR-10).")
@click.option("--optimizer", type=click.Choice(["adam", "sgd"]), default=None, help="sgd is Nesterov SGD.")
@click.option("--weight-decay", type=float, default=None)
@click.option("--label-smoothing", type=float, default=None)
@click.option("--logit-scale", type=float, default=None,
              help="Factor on the logits while training (folded into the last layer at the end).")
@click.option("--crop", type=int, default=None, help="Random-crop augmentation padding in pixels (0: off).")
@click.option("--flip/--no-flip", default=None, help="Random horizontal flips.")
@click.option("--precision", type=click.Choice(["fp32", "bf16"]), default=None,
              help="bf16 trains ~3x faster on CPUs with AMX/AVX512-BF16; the test accuracy is measured in fp32.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--limit", type=int, default=0, help="Use only the first N training images (quick checks).")
@click.option("--data-root", default=None, help="Where named datasets live.")
@click.option("--out", default=None,
              help="Folder to write (default: the evaluators dir, e.g. ~/.cache/genzoo/evaluators/NAME).")
@click.option("--resume/--no-resume", default=True, show_default=True,
              help="Continue from OUT.checkpoint.safetensors (written every epoch) when it is there.")
def train(data: str, epochs: int | None, steps: int | None, batch_size: int | None, lr: float | None,
          arch: str | None, width: int | None, optimizer: str | None, weight_decay: float | None,
          label_smoothing: float | None, logit_scale: float | None, crop: int | None, flip: bool | None,
          precision: str | None, seed: int, limit: int, data_root: str | None, out: str | None, resume: bool) -> None:
    """Train the evaluator for DATA on its train split and report its test accuracy.

    The result is yours, kept in the evaluators dir: score with it by its folder or as
    --features local:NAME. The plain names (lenet-mnist, resnet-cifar10) always mean the
    weights shipped with genzoo, so everyone's scores under them compare.
    """
    # Deferred: it imports torch, and `genzoo list` and `genzoo --help` must not.
    from ..evaluation.evaluators import train_evaluator_for

    if (batch_size is not None and batch_size < 1) or (steps is not None and steps < 1) or \
            (epochs is not None and epochs < 1):
        raise GenzooError("--epochs, --steps and --batch-size must be positive.")
    path, record = train_evaluator_for(data, steps=steps, batch_size=batch_size, lr=lr, seed=seed, limit=limit,
                                       data_root=data_root, out=out, echo=click.echo, resume=resume, epochs=epochs,
                                       arch=arch, width=width, optimizer=optimizer, weight_decay=weight_decay,
                                       label_smoothing=label_smoothing, logit_scale=logit_scale, crop=crop, flip=flip,
                                       precision=precision)
    click.echo(f"test accuracy {record['test_accuracy']:.4f} on {record['test_images']} images "
               f"({record['steps']} steps, {record['train_seconds']} s)")
    click.echo(f"saved evaluator: {path}")
    if not out:
        click.echo(f"score with it: --features local:{path.name} (plain {path.name} means the shipped weights)")


@command.command("list")
def list_cmd() -> None:
    """Show the evaluators shipped with genzoo and the ones trained here, with their accuracy."""
    # Deferred: it imports torch, and `genzoo list` and `genzoo --help` must not.
    from genzoo.core.metrics.extractors.evaluator import CONFIG, LOCAL, evaluators_dir, shipped_manifest

    for name, entry in shipped_manifest().items():
        click.echo(f"{name:22s} {entry['dataset']:14s} test accuracy {entry['test_accuracy']:.4f}  shipped "
                   f"(sha256 {entry['weights_sha256'][:12]}; {entry['data']})")
    root = evaluators_dir()
    for data, (_, name) in EVALUATORS.items():
        cfg = root / name / CONFIG
        label = f"{LOCAL}{name}" if name in shipped_manifest() else name
        if cfg.is_file():
            info = json.loads(cfg.read_text())
            click.echo(f"{label:22s} {data:14s} test accuracy {info['test_accuracy']:.4f}  {root / name}")
        elif name not in shipped_manifest():
            click.echo(f"{name:22s} {data:14s} not trained (genzoo evaluator train {data})")
