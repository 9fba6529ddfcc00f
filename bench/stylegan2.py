"""StyleGAN2-small against DCGAN at equal wall-clock on MNIST and CIFAR-10, one CPU thread each.

Each model trains for ``--minutes`` (train.max_minutes: the run ends normally at the budget) from its
registered recipe, then is scored:

- MNIST: FID and KID of ``--n`` samples (EMA weights) against the test split in the zoo's LeNet-MNIST
  evaluator's features (genzoo.evaluate, features lenet-mnist);
- CIFAR-10 (the 5,000-image sample folder, the only CIFAR data on this machine in a loadable form): the
  zoo's CIFAR evaluator (resnet-cifar10) is not trained here and FID-Inception weights cannot be
  downloaded offline, so the score is a Fréchet distance in fixed random-conv features and in 7x7 pooled
  pixels (tests/gan_quality.py) of ``--n`` samples against the folder's images: a relative measure only.

A 64-image grid of each model goes to bench/grids/. Results print as JSON lines (and go to --json).

    OMP_NUM_THREADS=1 .venv/bin/python bench/stylegan2.py --minutes 5 --data-root /work/shared/data \\
        --json /tmp/sg2-bench.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

import genzoo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from gan_quality import frechet_distance, model_samples, pooled_pixels, random_conv_features  # noqa: E402

from genzoo.core.images import save_grid  # noqa: E402

PAIRS = [("stylegan2-mnist", "mnist"), ("dcgan-mnist", "mnist"),
         ("stylegan2-cifar10", "cifar10-sample"), ("dcgan-cifar10", "cifar10-sample")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--data-root", default="/work/shared/data")
    ap.add_argument("--models", default=",".join(m for m, _ in PAIRS))
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    torch.set_num_threads(1)
    root = Path(args.data_root)
    work = Path(tempfile.mkdtemp(prefix="genzoo-sg2-bench-"))
    rows = []
    for name, data in PAIRS:
        if name not in args.models.split(","):
            continue
        source = str(root / "cifar10-sample") if data == "cifar10-sample" else data
        started = time.perf_counter()
        run = genzoo.train(name, source, steps=10**7, out=work / name, data_root=root, progress=False,
                           train={"max_minutes": args.minutes, "sample_every": 0, "checkpoint_every": 0,
                                  "log_every": 25, "seed": 0})
        row = {"model": name, "data": data, "steps": run.step, "wall_s": round(time.perf_counter() - started, 1),
               "params": sum(p.numel() for p in run.model.parameters())}
        model = genzoo.create_model(str(run.run_dir))
        save_grid(model_samples(model, 64, seed=1), ROOT / "bench" / "grids" / f"{name}-{args.minutes:g}min.png")
        if data == "mnist":
            result = genzoo.evaluate(str(run.run_dir), "mnist", split="test", metrics="fid,kid", n=args.n,
                                     features="lenet-mnist", data_root=root)
            row.update({s.name: round(float(s.value), 4) for s in result.scores})
        else:
            real = genzoo.load_data(source, image_size=32, channels=3).subset(args.n).images.float() / 127.5 - 1
            fake = model_samples(model, args.n, seed=0)
            row["fd_random_conv"] = round(frechet_distance(random_conv_features(fake), random_conv_features(real)), 4)
            row["fd_pooled_pixels"] = round(frechet_distance(pooled_pixels(fake), pooled_pixels(real)), 4)
        print(json.dumps(row), flush=True)
        rows.append(row)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
