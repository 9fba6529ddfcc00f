"""A short CPU training run of a PixelCNN variant on MNIST: test bits/dim and a sample grid.

    python bench/pixelcnn_mnist.py pixelcnn-mnist --steps 60 --batch 64 --grid 16 --threads 1

bench/families.py scores every family the same way, but its Fréchet distance draws 1,000
samples; a PixelCNN draws them one sub-pixel at a time (784 network passes per batch), which
is beyond a short CPU budget, so this script measures what a likelihood model is compared on:
bits/dim on the first 1,000 MNIST test images (families.bits_per_dim, the same function).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch

import genzoo

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from families import bits_per_dim  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", nargs="?", default="pixelcnn-mnist")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--grid", type=int, default=16, help="samples in the final grid")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--data-root", default="/work/shared/data")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="genzoo-pixelcnn-") as tmp:
        torch.manual_seed(0)
        untrained = genzoo.create_model(args.model)
        print(f"step 0: test bits/dim {bits_per_dim(untrained, args.data_root):.3f}", flush=True)
        t = time.perf_counter()
        result = genzoo.train(args.model, "mnist", steps=args.steps, out=Path(tmp) / "run", data_root=args.data_root,
                              train={"batch_size": args.batch, "sample_grid": args.grid, "log_every": 10,
                                     "checkpoint_every": 0, "sample_every": 0})
        wall = time.perf_counter() - t
        print((result.run_dir / "metrics.jsonl").read_text(), end="")
        model = genzoo.create_model(str(result.run_dir))
        print(f"step {result.step}: test bits/dim {bits_per_dim(model, args.data_root):.3f} "
              f"(train + final {args.grid}-sample grid: {wall:.0f} s)")
        t = time.perf_counter()
        model.sample(args.grid, generator=torch.Generator().manual_seed(1), progress=False)
        print(f"sampling {args.grid} images (cropped sampler): {time.perf_counter() - t:.0f} s")
        (HERE / "grids").mkdir(exist_ok=True)
        shutil.copyfile(sorted((result.run_dir / "samples").glob("step-*.png"))[-1],
                        HERE / "grids" / f"{args.model}.png")
        print(f"grid: bench/grids/{args.model}.png")


if __name__ == "__main__":
    main()
