"""Test bits/dim of the flow families after a short run, beside the published MNIST figures.

Trains each model through ``genzoo.train`` (the same path as ``genzoo train``), then
measures exact bits/dim on real MNIST test digits (fixed-seed dequantisation) and writes
sample grids at temperature 0.7 and 1.0 to bench/grids/.

    .venv/bin/python bench/flows_bpd.py realnvp-mnist glow-mnist --steps 400 --minutes 4 \
        --data-root /work/shared/data
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import tempfile
import time
from pathlib import Path

import torch

import genzoo
from genzoo.core.data.transforms import normalize
from genzoo.core.flows import bits_per_dim
from genzoo.core.images import save_grid

PUBLISHED = {"realnvp": "1.06 (Dinh et al. 2017)", "glow": "1.05 (Kingma & Dhariwal 2018)"}
GRIDS = Path(__file__).resolve().parent / "grids"


@torch.no_grad()
def mean_test_bpd(model, data_root: str | None, n: int) -> float:
    c = model.config
    test = genzoo.load_data("mnist", image_size=c.image_size, channels=c.channels, split="test", root=data_root)
    x = normalize(test.images[:n], "dequantize", generator=torch.Generator().manual_seed(0))
    model.eval()
    bpd = torch.cat([bits_per_dim(model.log_prob(x[i:i + 250]), x[0].numel()) for i in range(0, len(x), 250)])
    return bpd.mean().item()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="*", default=["realnvp-mnist", "glow-mnist"])
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--minutes", type=float, default=4.0, help="Training time cap per model.")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--n-test", type=int, default=1000)
    p.add_argument("--data-root", default=None)
    p.add_argument("--set", action="append", default=[], metavar="MODEL.FIELD=VALUE",
                   help="Config override for one model, e.g. realnvp-mnist.hidden=16 (repeatable).")
    args = p.parse_args()
    GRIDS.mkdir(exist_ok=True)
    rows = []
    for name in args.models:
        overrides = {k.split(".", 1)[1]: v for k, v in (a.split("=", 1) for a in args.set) if k.startswith(name + ".")}
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            before = mean_test_bpd(genzoo.create_model(name, **overrides), args.data_root, args.n_test)
            run = genzoo.train(name, "mnist", out=Path(tmp) / "run", data_root=args.data_root, progress=False,
                               config=overrides,
                               train={"steps": args.steps, "batch_size": args.batch, "max_minutes": args.minutes,
                                      "device": "cpu", "sample_every": 0, "checkpoint_every": 0})
            train_s = time.perf_counter() - t0
            after = mean_test_bpd(run.model, args.data_root, args.n_test)
            with torch.no_grad():
                for t in (0.7, 1.0):
                    grid = run.model.sample(64, generator=torch.Generator().manual_seed(0), temperature=t)
                    save_grid(grid, GRIDS / f"{name}-{run.step}steps-T{t}.png")
        params = sum(q.numel() for q in run.model.parameters())
        rows.append((name, run.model.family, params, run.step, train_s, before, after))
        print(f"{name}: {before:.3f} -> {after:.3f} bits/dim after {run.step} steps ({train_s:.0f} s)", flush=True)
    print(f"\nMNIST test bits/dim ({args.n_test} test digits, fixed-seed dequantisation), batch {args.batch}, CPU")
    print("| model | params | steps | train s | test bits/dim at init | after | published |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, family, params, steps, secs, before, after in rows:
        print(f"| {name} | {params:,} | {steps} | {secs:.0f} | {before:.3f} | {after:.3f} | {PUBLISHED[family]} |")
    if args.set:
        print(f"config overrides: {' '.join(args.set)}")
    print(f"\npython {platform.python_version()}, torch {torch.__version__}, "
          f"{subprocess.run(['date', '-u'], capture_output=True, text=True).stdout.strip()}")


if __name__ == "__main__":
    main()
