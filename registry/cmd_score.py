"""``genzoo score``: per-image anomaly scores from a likelihood or reconstruction model, as CSV.

A model trained on "normal" images scores new ones with ``ZooModel.anomaly_score``: the
negative log-likelihood where the family has one (flows, VAEs, autoregressive models),
else the reconstruction error (autoencoders). Higher means more anomalous. Images are
loaded at the model's size and channels and normalised exactly as in training; for
dequantising models the noise comes from a fixed seed, so a rerun gives the same scores.
"""

from __future__ import annotations

import csv
import math
import sys
from pathlib import Path
from typing import Any

import click

from genzoo.core.errors import GenzooError

MEANINGS = {
    "log_prob": "score = negative log-likelihood in nats of the 8-bit image (higher = more anomalous); "
                "bits/dim = score / (D ln 2)",
    "reconstruct": "score = mean squared reconstruction error per pixel, in the model's input space "
                   "(higher = more anomalous)",
}


def score_meaning(model: Any) -> str:
    """What the numbers in the score column are, for the CSV header."""
    from genzoo.core.model import ZooModel

    own = getattr(model, "anomaly_score_meaning", None)
    if own:
        return f"score = {own}"
    if type(model).anomaly_score is not ZooModel.anomaly_score:
        return f"score = {model.family}'s own anomaly_score (higher = more anomalous)"
    return MEANINGS["log_prob" if "log_prob" in model.capabilities else "reconstruct"]


def check_can_score(model: Any) -> None:
    from genzoo.core.model import ZooModel

    caps = model.capabilities
    if "log_prob" in caps or "reconstruct" in caps or type(model).anomaly_score is not ZooModel.anomaly_score:
        return
    raise GenzooError(
        f"{model.family} has no log_prob and no reconstruct, so it cannot score images "
        f"(it can: {', '.join(sorted(caps))}); use a flow, VAE, autoencoder or PixelCNN."
    )


def score_images(model: Any, images: Any, *, batch_size: int = 256, seed: int = 0,
                 progress: bool | None = None) -> Any:
    """Anomaly scores (a float64 CPU tensor, one per image) of a uint8 ImageSet or (N, C, H, W) tensor."""
    import torch

    from genzoo.core.data.transforms import normalize
    from genzoo.core.progress import Progress

    check_can_score(model)
    pixels = getattr(images, "images", images)
    mode = model.meta.get("preprocessing", {}).get("normalize", "minus_one_one")
    generator = torch.Generator().manual_seed(seed)
    model.eval()
    scores = []
    bar = Progress(len(pixels), 0, f"scoring {model.meta.get('name', model.family)}",
                   sys.stderr.isatty() if progress is None else progress)
    try:
        with torch.no_grad():
            for start in range(0, len(pixels), batch_size):
                chunk = pixels[start:start + batch_size]
                noise = normalize(chunk, mode, generator=generator)  # one seeded stream: reproducible
                scores.append(model.anomaly_score(noise.to(model.device)).double().cpu())
                bar.update(start + len(chunk))
    finally:
        bar.close()
    return torch.cat(scores)


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
    from genzoo import api

    if n is not None and n < 1:
        raise GenzooError(f"--n must be at least 1 (got {n}).")
    if batch_size < 1:
        raise GenzooError(f"--batch-size must be at least 1 (got {batch_size}).")
    model = api.create_model(name, variant=variant)
    check_can_score(model)
    if not Path(name).is_dir():
        click.echo(f"note: {name} is untrained (no run dir or pretrained folder given); scores are meaningless.",
                   err=True)
    config = model.config
    resize = model.meta.get("preprocessing", {}).get("resize", "resize")
    data = api.load_data(images, image_size=config.image_size, channels=config.channels, resize=resize,
                         split=split, root=data_root)
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
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "w", newline="", encoding="utf-8") as f:
        f.write(f"# {meaning}; model {model.meta.get('name', name)} ({name}); images {images}"
                f"{'' if paths else f' split {split}'}; dequantisation seed {seed}\n")
        writer = csv.writer(f)
        writer.writerow(["path" if paths else "index", "label", "score"])
        for i, s in enumerate(scores.tolist()):
            label = "" if labels is None else (classes[labels[i]] if labels[i] < len(classes) else labels[i])
            writer.writerow([paths[i] if paths else i, label, f"{s:.6g}"])
    mean = scores.mean().item()
    extra = ""
    if "log_prob" in model.capabilities and "negative log-likelihood" in meaning:
        dims = config.channels * config.image_size ** 2
        extra = f" ({mean / (dims * math.log(2)):.4g} bits/dim)"
    click.echo(f"scored {len(scores)} images: mean score {mean:.6g}{extra}, max {scores.max().item():.6g}")
    click.echo(f"wrote {target}")
