"""Anomaly detection on MNIST with one digit held out: AUROC per likelihood/reconstruction family.

Each family available in the zoo (realnvp-mnist, glow-mnist, vae-mnist, ae-mnist,
pixelcnn-mnist) is trained briefly on the MNIST training digits *without* the held-out
digit, then scores a test mix of normal digits and the held-out digit with
``model.anomaly_score`` (the same function ``genzoo score`` uses: -log p(x) where the model
has a likelihood, else reconstruction error). AUROC is the probability that a random
held-out digit scores higher than a random normal one (0.5 = chance).

    .venv/bin/python bench/anomaly.py --data-root /work/shared/data [--holdout 7 --steps 300 --minutes 2]
        [--set realnvp-mnist.hidden=12 ...]
"""

from __future__ import annotations

import argparse
import math
import platform
import subprocess
import time

import torch
from sklearn.metrics import roc_auc_score

import genzoo
from genzoo.core.data import ImageSet
from genzoo.core.data.loader import BatchLoader
from genzoo.core.trainer import Trainer
from genzoo.evaluation.anomaly import score_images
from genzoo.zoo import get_zoo

FAMILIES = ("realnvp-mnist", "glow-mnist", "vae-mnist", "ae-mnist", "pixelcnn-mnist")


def without_digit(images: ImageSet, digit: int) -> ImageSet:
    keep = images.labels != digit
    return ImageSet(images=images.images[keep], labels=images.labels[keep], classes=images.classes, name=images.name)


def test_mix(images: ImageSet, digit: int, n_each: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n_each`` held-out digits and ``n_each`` normal digits from the test split; 1 = anomalous."""
    g = torch.Generator().manual_seed(seed)
    anomal = torch.nonzero(images.labels == digit).flatten()
    normal = torch.nonzero(images.labels != digit).flatten()
    anomal = anomal[torch.randperm(len(anomal), generator=g)[:n_each]]
    normal = normal[torch.randperm(len(normal), generator=g)[:n_each]]
    idx = torch.cat([anomal, normal])
    is_anomaly = torch.cat([torch.ones(len(anomal)), torch.zeros(len(normal))])
    return images.images[idx], is_anomaly


def run_family(name: str, args: argparse.Namespace) -> dict:
    entry = get_zoo().model(name)
    overrides = {k.split(".", 1)[1]: v for k, v in (a.split("=", 1) for a in args.set) if k.startswith(name + ".")}
    model = genzoo.create_model(name, **overrides)
    cfg, prep = model.config, entry.make_preprocessing()
    recipe = entry.make_recipe({"steps": args.steps, "batch_size": args.batch, "device": "cpu", "seed": args.seed,
                                "max_minutes": args.minutes, "sample_every": 0, "checkpoint_every": 0,
                                "log_every": 25, "ema_decay": 0.0})
    train = genzoo.load_data("mnist", image_size=cfg.image_size, channels=cfg.channels, resize=prep.resize,
                             root=args.data_root)
    test = genzoo.load_data("mnist", image_size=cfg.image_size, channels=cfg.channels, resize=prep.resize,
                            split="test", root=args.data_root)
    torch.manual_seed(args.seed)
    model = genzoo.create_model(name, **overrides)
    loader = BatchLoader(without_digit(train, args.holdout), prep, recipe.batch_size, recipe.seed, "cpu")
    t0 = time.perf_counter()
    result = Trainer(model, loader, recipe, None, progress=False).fit()
    train_s = time.perf_counter() - t0
    pixels, is_anomaly = test_mix(test, args.holdout, args.n_each, args.seed)
    t0 = time.perf_counter()
    scores = score_images(model, pixels, batch_size=200, seed=0, progress=False)
    row = {
        "model": name, "family": entry.family, "steps": result.step, "train_s": train_s,
        "score_s": time.perf_counter() - t0, "auroc": roc_auc_score(is_anomaly.numpy(), scores.numpy()),
        "score": "-log p(x)" if "log_prob" in model.capabilities else "recon. MSE",
        "normal": scores[is_anomaly == 0].mean().item(), "anomalous": scores[is_anomaly == 1].mean().item(),
    }
    if "log_prob" in model.capabilities:  # report the mean scores as bits/dim, the figure papers use
        dims = cfg.channels * cfg.image_size ** 2
        row["normal"], row["anomalous"] = (v / (dims * math.log(2)) for v in (row["normal"], row["anomalous"]))
        row["score"] += " (bits/dim)"
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="*", default=None, help=f"default: those of {', '.join(FAMILIES)} registered")
    p.add_argument("--holdout", type=int, default=7, help="The digit left out of training (the anomaly).")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--minutes", type=float, default=2.0, help="Training time cap per model.")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--n-each", type=int, default=500, help="Held-out and normal test digits each.")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-root", default=None)
    p.add_argument("--set", action="append", default=[], metavar="MODEL.FIELD=VALUE",
                   help="Config override for one model, e.g. realnvp-mnist.hidden=12 (repeatable).")
    args = p.parse_args()
    available = set(genzoo.list_models("*"))
    models = args.models or [m for m in FAMILIES if m in available]
    start = time.perf_counter()
    rows = []
    for name in models:
        row = run_family(name, args)
        rows.append(row)
        print(f"{name}: AUROC {row['auroc']:.3f} after {row['steps']} steps ({row['train_s']:.0f} s)", flush=True)
    total = time.perf_counter() - start
    print(f"\nMNIST, digit {args.holdout} held out of training | test: {args.n_each} held-out + {args.n_each} "
          f"normal digits | up to {args.steps} steps or {args.minutes:g} min per model, batch {args.batch}, CPU")
    print("| model | score | steps | train s | AUROC | mean score normal | mean score held-out |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['model']} | {r['score']} | {r['steps']} | {r['train_s']:.0f} | {r['auroc']:.3f} | "
              f"{r['normal']:.4g} | {r['anomalous']:.4g} |")
    if args.set:
        print(f"config overrides: {' '.join(args.set)}")
    print(f"\ntotal {total / 60:.1f} min; python {platform.python_version()}, torch {torch.__version__}, "
          f"{subprocess.run(['date', '-u'], capture_output=True, text=True).stdout.strip()}")


if __name__ == "__main__":
    main()
