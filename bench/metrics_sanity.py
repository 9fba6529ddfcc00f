"""The scale of each metric on MNIST with the zoo's LeNet evaluator: what "good" and "bad" look like.

    .venv/bin/genzoo evaluator train mnist --data-root ../shared/data     # once
    .venv/bin/python bench/metrics_sanity.py --data-root ../shared/data [--n 10000]

Compares the MNIST test split (the real side) with: 10,000 training images (a perfect
generator), the test images plus Gaussian pixel noise (sigma 0.1 and 0.3 of the range,
clipped), and uniform noise images. Prints a markdown table for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

import genzoo
from genzoo.evaluation.evaluate import evaluate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--features", default="lenet-mnist")
    args = ap.parse_args()
    g = torch.Generator().manual_seed(0)
    test = genzoo.load_data("mnist", image_size=28, channels=1, split="test", root=args.data_root).images
    train = genzoo.load_data("mnist", image_size=28, channels=1, split="train", root=args.data_root).images
    train = train[torch.randperm(len(train), generator=g)[:args.n]]

    def noisy(sigma: float) -> torch.Tensor:
        x = test.float() + torch.randn(test.shape, generator=g) * sigma * 255
        return x.clamp(0, 255).round().to(torch.uint8)

    cases = {
        f"MNIST train ({args.n} random) vs test": train,
        "test + Gaussian noise σ=0.1": noisy(0.1),
        "test + Gaussian noise σ=0.3": noisy(0.3),
        "uniform noise U[0,255]": torch.randint(0, 256, test.shape, dtype=torch.uint8, generator=g),
    }
    metrics = ["fid", "kid", "precision", "recall", "density", "coverage", "is"]
    rows, protocol = [], None
    with tempfile.TemporaryDirectory() as tmp:
        for name, images in cases.items():
            path = Path(tmp) / "fake.npz"
            np.savez(path, images=images.numpy())
            t = time.perf_counter()
            res = evaluate(path, "mnist", split="test", metrics="fid,kid,pr,dc,is", n=args.n,
                           features=args.features, data_root=args.data_root)
            v = res.values()
            protocol = {s.name: s.protocol for s in res.scores}
            cells = " | ".join(f"{v[m]:.4g}" for m in metrics)
            rows.append(f"| {name} | {cells} | {time.perf_counter() - t:.0f} |")
            print(rows[-1], flush=True)
    p = protocol["fid"]
    print(f"\nextractor {p.extractor} sha256 {p.extractor_sha256[:16]}..., {p.channels}, {p.input_size}px, "
          f"n_real {p.n_real} ({p.real_data} {p.real_split}), n_fake {p.n_fake}, seed {p.seed}; "
          f"KID {dict(protocol['kid'].params)['subsets']} subsets of {dict(protocol['kid'].params)['subset_size']}; "
          f"P/R k={dict(protocol['precision'].params)['k']}, D/C k={dict(protocol['density'].params)['k']}")
    print("\n| fake vs MNIST test | FID | KID | precision | recall | density | coverage | IS (LeNet) | s |\n"
          "|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"\n{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; python {platform.python_version()}, "
          f"torch {torch.__version__}")


if __name__ == "__main__":
    main()
