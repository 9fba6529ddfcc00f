"""``genzoo score``: per-image anomaly scores of a folder or data set, as CSV (see genzoo.evaluation.anomaly)."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import click

from genzoo.core.atomic import atomic_write_text, check_can_write
from genzoo.core.errors import GenzooError

from .model_arg import open_model


@click.command("score")
@click.argument("name")
@click.argument("images")
@click.option("--split", default="test", show_default=True, type=click.Choice(["train", "test"]),
              help="Split of a named dataset (ignored for folders).")
@click.option("--n", "n", type=int, default=None, help="Score only the first N images.")
@click.option("--out", default="scores.csv", show_default=True, help="CSV file to write.")
@click.option("--batch-size", type=int, default=256, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the dequantisation noise.")
@click.option("--data-root", default=None, help="Where named datasets live.")
@click.option("--variant", type=click.Choice(["default", "ema", "raw"]), default="default", show_default=True)
def command(name: str, images: str, split: str, n: int | None, out: str, batch_size: int, seed: int,
            data_root: str | None, variant: str) -> None:
    """Score IMAGES (a folder or a dataset name) with NAME_OR_RUN; higher = more anomalous."""
    # Deferred: it imports torch, and `genzoo list` and `genzoo --help` must not.
    from ..evaluation.anomaly import check_can_score, score_images, score_meaning
    from ..sources import load_data

    if n is not None and n < 1:
        raise GenzooError(f"--n must be at least 1 (got {n}).")
    if batch_size < 1:
        raise GenzooError(f"--batch-size must be at least 1 (got {batch_size}).")
    target = Path(out)
    check_can_write(target, f"--out {target}")
    model = open_model(name, variant, outputs="scores are meaningless")
    check_can_score(model)
    config = model.config
    resize = model.preprocessing.resize
    data = load_data(images, image_size=config.image_size, channels=config.channels, resize=resize, split=split,
                     root=data_root)
    if n is not None and n < len(data):
        data = data.subset(n)
    scores = score_images(model, data, batch_size=batch_size, seed=seed)

    report = getattr(data, "report", None)
    paths = [str(p.relative_to(report.root)) if report.root else str(p) for p in report.good] if report else None
    if paths is not None and len(paths) != len(data):
        paths = None
    labels = data.labels.tolist() if data.labels is not None else None
    classes = data.classes
    meaning = score_meaning(model)
    table = io.StringIO(newline="")
    table.write(f"# {meaning}; model {model.meta.name or name} ({name}); images {images}"
                f"{'' if paths else f' split {split}'}; dequantisation seed {seed}\n")
    writer = csv.writer(table)
    writer.writerow(["path" if paths else "index", "label", "score"])
    for i, s in enumerate(scores.tolist()):
        label = "" if labels is None else (classes[labels[i]] if labels[i] < len(classes) else labels[i])
        writer.writerow([paths[i] if paths else i, label, f"{s:.6g}"])
    atomic_write_text(target, table.getvalue())  # an interrupted run never leaves half a table
    mean = scores.mean().item()
    extra = ""
    if "log_prob" in model.capabilities and "negative log-likelihood" in meaning:
        dims = config.channels * config.image_size ** 2
        extra = f" ({mean / (dims * math.log(2)):.4g} bits/dim)"
    click.echo(f"scored {len(scores)} images: mean score {mean:.6g}{extra}, max {scores.max().item():.6g}")
    click.echo(f"wrote {target}")
