"""StyleGAN2-small against DCGAN at equal wall-clock on MNIST and CIFAR-10, one CPU thread each.

Each model trains for ``--minutes`` (train.max_minutes: the run ends normally at the budget) from its
registered recipe, then is scored:

- MNIST: FID and KID of ``--n`` samples (EMA weights) against the test split in the shipped LeNet-MNIST
  evaluator's features (genzoo.evaluate, features lenet-mnist);
- CIFAR-10 (the whole train split of the JPEG re-encoding, cifar10-jpg.zip): the same against the CIFAR-10
  test split in the shipped ResNet-CIFAR-10 evaluator's features (features resnet-cifar10).

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
from gan_quality import model_samples  # noqa: E402

from genzoo.core.images import save_grid  # noqa: E402
from genzoo.core.metrics.extractors.defaults import default_extractor  # noqa: E402

PAIRS = [("stylegan2-mnist", "mnist"), ("dcgan-mnist", "mnist"),
         ("stylegan2-cifar10", "cifar10"), ("dcgan-cifar10", "cifar10")]


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
        started = time.perf_counter()
        run = genzoo.train(name, data, steps=10**7, out=work / name, data_root=root, progress=False,
                           train={"max_minutes": args.minutes, "sample_every": 0, "checkpoint_every": 0,
                                  "log_every": 25, "seed": 0})
        row = {"model": name, "data": data, "steps": run.step, "wall_s": round(time.perf_counter() - started, 1),
               "params": sum(p.numel() for p in run.model.parameters())}
        model = genzoo.create_model(str(run.run_dir))
        save_grid(model_samples(model, 64, seed=1), ROOT / "bench" / "grids" / f"{name}-{args.minutes:g}min.png")
        result = genzoo.evaluate(str(run.run_dir), data, split="test", metrics="fid,kid", n=args.n,
                                 features=default_extractor(data), data_root=root)
        row.update({s.name: round(float(s.value), 4) for s in result.scores})
        print(json.dumps(row), flush=True)
        rows.append(row)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
