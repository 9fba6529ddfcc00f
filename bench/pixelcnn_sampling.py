"""How much the cropped PixelCNN sampler saves over recomputing the whole image per sub-pixel.

    python bench/pixelcnn_sampling.py pixelcnn-mnist --n 16 [--set hidden=32 ...] [--threads 2]

Both samplers draw the same uniforms, so for one seed they must give the same images; the
script checks that and prints seconds per image set for each, and the speed-up.
"""

from __future__ import annotations

import argparse
import platform
import time

import torch

import genzoo
from genzoo.core.config import parse_assignments


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", nargs="?", default="pixelcnn-mnist")
    ap.add_argument("--n", type=int, default=16, help="images per sample call")
    ap.add_argument("--set", action="append", default=[], help="config override key=value")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    model = genzoo.create_model(args.model, **parse_assignments(args.set)).eval()
    c = model.config
    print(f"{args.model} arch={c.arch} {c.image_size}x{c.image_size}x{c.channels} hidden={c.hidden} "
          f"layers={c.layers} reach={model.reach} n={args.n}; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {platform.processor() or platform.machine()}")
    times, images = {}, {}
    for sampler in ("cropped", "naive"):
        t = time.perf_counter()
        images[sampler] = model.sample(args.n, generator=torch.Generator().manual_seed(args.seed), sampler=sampler)
        times[sampler] = time.perf_counter() - t
        print(f"  {sampler:8s} {times[sampler]:8.1f} s  ({times[sampler] / args.n:.2f} s/image)")
    same = torch.equal(images["cropped"], images["naive"])
    print(f"  speed-up {times['naive'] / times['cropped']:.2f}x; identical samples: {same}")


if __name__ == "__main__":
    main()
