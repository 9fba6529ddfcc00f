"""Epoch time: genzoo's cached image folder + BatchLoader vs torchvision ImageFolder + DataLoader.

genzoo decodes the folder once into a uint8 cache and then gathers, normalises and
augments whole batches as tensors; torchvision decodes every JPEG with PIL on every epoch.
Both iterate the same images at the same batch size and produce [-1, 1] float batches.

    .venv/bin/python bench/data_cache.py [--data ../shared/data/cifar10-sample] [--epochs 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from genzoo.core.data import BatchLoader, load_folder
from genzoo.core.preprocessing import Preprocessing

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared/data/cifar10-sample"


def time_epochs(run_epoch, epochs: int) -> list[float]:
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        run_epoch()
        times.append(time.perf_counter() - start)
    return times


def genzoo_epochs(data: Path, batch_size: int, epochs: int,
                  cache_dir: Path) -> tuple[float, float, list[float]]:
    start = time.perf_counter()
    load_folder(data, image_size=32, channels=3, cache_dir=cache_dir)  # first run: decode + write cache
    build = time.perf_counter() - start
    start = time.perf_counter()
    images = load_folder(data, image_size=32, channels=3, cache_dir=cache_dir)  # cache hit, as a later run
    hit = time.perf_counter() - start
    loader = BatchLoader(images, Preprocessing(normalize="minus_one_one"), batch_size, seed=0)
    epoch = [0]

    def run_epoch() -> None:
        first = epoch[0] * loader.batches_per_epoch
        for i in range(first, first + loader.batches_per_epoch):
            loader.batch(i)
        epoch[0] += 1

    return build, hit, time_epochs(run_epoch, epochs)


def torchvision_epochs(data: Path, batch_size: int, epochs: int, workers: int) -> list[float]:
    from torchvision import datasets, transforms

    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,) * 3, (0.5,) * 3)])
    dataset = datasets.ImageFolder(str(data), transform=tf)
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True, drop_last=True,
                                         num_workers=workers, persistent_workers=workers > 0)

    def run_epoch() -> None:
        for _ in loader:
            pass

    return time_epochs(run_epoch, epochs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))

    with tempfile.TemporaryDirectory() as cache_dir:
        build, hit, ours = genzoo_epochs(args.data, args.batch_size, args.epochs, Path(cache_dir))
    rows = [("genzoo load_folder (cached) + BatchLoader", ours)]
    for workers in (0, 2):
        rows.append((f"torchvision ImageFolder + DataLoader, num_workers={workers}",
                     torchvision_epochs(args.data, args.batch_size, args.epochs, workers)))

    ours_median = statistics.median(ours)
    print(f"data: {args.data} | batch {args.batch_size} | {args.epochs} epochs each | median epoch seconds")
    print(f"genzoo first load (scan + decode + write cache, once): {build:.2f} s; "
          f"later loads (hash files + read cache): {hit:.2f} s")
    print(f"| {'pipeline':<58} | {'median s':>9} | {'min s':>7} | {'genzoo speed-up':>15} |")
    print(f"|{'-' * 60}|{'-' * 10}:|{'-' * 8}:|{'-' * 16}:|")
    for name, times in rows:
        median = statistics.median(times)
        print(f"| {name:<58} | {median:>9.4f} | {min(times):>7.4f} | {median / ours_median:>14.1f}x |")


if __name__ == "__main__":
    main()
