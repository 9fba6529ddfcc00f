"""Short CPU benchmark of cyclegan-mnist-inverted: MNIST digits <-> other digits inverted, unpaired.

Trains with the variant's config on the ``mnist-inverted`` set, then reports wall time,
images/s, the final logged losses, how far each direction's mean intensity moved toward the
target domain on held-out test digits, and writes a grid (A inputs, A->B outputs, B inputs,
B->A outputs) to bench/grids/.

    .venv/bin/python bench/cyclegan_mnist_inverted.py --data-root ../shared/data --steps 200
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import torch

import genzoo
from genzoo.core.data.transforms import normalize
from genzoo.core.images import save_grid

NAME = "cyclegan-mnist-inverted"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-root", default="../shared/data")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--out", default="/tmp/genzoo-bench-cyclegan")
    ap.add_argument("--grid", default="bench/grids/cyclegan-mnist-inverted.png")
    args = ap.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)

    test = genzoo.load_data("mnist-inverted", image_size=28, channels=1, split="test", root=args.data_root)
    a, b = normalize(test.images[:500], "minus_one_one"), normalize(test.images_b[:500], "minus_one_one")
    torch.manual_seed(0)
    untrained = genzoo.create_model(NAME).eval()

    t0 = time.perf_counter()
    result = genzoo.train(NAME, steps=args.steps, out=args.out, data_root=args.data_root, progress=False)
    wall = time.perf_counter() - t0
    model = result.model.eval()
    batch = json.loads((Path(args.out) / "run.json").read_text())["train"]["batch_size"]

    report = {"steps": result.step, "batch_size": batch, "wall_s": round(wall, 1),
              "images_per_s": round(result.step * batch / wall, 2),
              "final_logs": {k: round(v, 4) for k, v in result.logs.items() if k.startswith(("g.", "d."))}}
    with torch.no_grad():
        for direction, src, dst in (("a2b", a, b), ("b2a", b, a)):
            gap0 = (untrained.translate(src, direction).mean() - dst.mean()).abs().item()
            out = model.translate(src, direction)
            report[f"{direction}_mean_gap"] = {"untrained": round(gap0, 3),
                                               "trained": round((out.mean() - dst.mean()).abs().item(), 3)}
            back = model.translate(out, "b2a" if direction == "a2b" else "a2b")
            report[f"{direction}_cycle_l1_test"] = round((back - src).abs().mean().item(), 4)
        k = 12
        rows = [a[:k], model.translate(a[:k], "a2b"), b[:k], model.translate(b[:k], "b2a")]
    save_grid(torch.cat(rows), args.grid, nrow=k)
    report["grid"] = args.grid
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
