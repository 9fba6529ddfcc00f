"""Training steps of one checkpoint's weights with denormal floats kept vs flushed to zero.

In a long CPU run some weights drift below float32's smallest normal value (1.2e-38), and
every operation that meets one takes the CPU's slow path. genzoo.core.device.flush_denormals (which
the Trainer, evaluation and the model-opening commands call) flushes them to zero. This counts
a trainer checkpoint's denormal weights and optimiser moments, resumes a Trainer from it as
`genzoo train --resume` does (weights, Adam moments, random state) and times the same steps with
the flag off and on, alternating, each from a fresh restore, beside a freshly initialised
model; the median seconds per step of each is reported.

    OMP_NUM_THREADS=1 .venv/bin/python bench/denormals.py realnvp-cifar10 CHECKPOINT.safetensors --steps 3 --repeats 2
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import torch

import genzoo
from genzoo.core.checkpoint import load_checkpoint, read_checkpoint
from genzoo.core.data import BatchLoader
from genzoo.core.recipe import TrainConfig
from genzoo.core.trainer import Trainer
from genzoo.zoo import get_zoo

SMALLEST_NORMAL = torch.finfo(torch.float32).tiny


def denormals(tensors: dict[str, torch.Tensor]) -> int:
    return sum(((v != 0) & (v.abs() < SMALLEST_NORMAL)).sum().item() for v in tensors.values() if v.is_floating_point())


def seconds_per_step(name: str, checkpoint: str | None, flush: bool, loader: BatchLoader,
                     args: argparse.Namespace) -> float:
    torch.manual_seed(0)
    trainer = Trainer(genzoo.create_model(name), loader, TrainConfig(
        steps=10**9, batch_size=args.batch, sample_every=0, checkpoint_every=0, device="cpu"), progress=False)
    if checkpoint is not None:
        load_checkpoint(checkpoint, model=trainer.model, ema=trainer.ema, optimizers=trainer.optimizers,
                        schedulers=trainer.schedulers)
    torch.set_flush_denormal(flush)  # after the Trainer, which turns it on
    trainer.train_step()  # warm-up
    times = []
    for _ in range(args.steps):
        start = time.perf_counter()
        trainer.train_step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="the registered model the checkpoint belongs to")
    p.add_argument("checkpoint", help="a trainer checkpoint (RUN/checkpoints/*.safetensors)")
    p.add_argument("--data-root", default=os.environ.get("GENZOO_DATA", "/work/shared/data"))
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=3, help="timed steps per run (after one warm-up step)")
    p.add_argument("--repeats", type=int, default=2, help="runs of each kind, alternating")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    tensors, _ = read_checkpoint(args.checkpoint)
    weights = {k: v for k, v in tensors.items() if k.startswith("model.")}
    moments = {k: v for k, v in tensors.items() if k.startswith("optim.")}
    print(f"{args.checkpoint}: {denormals(weights):,} denormal of {sum(v.numel() for v in weights.values()):,} "
          f"weights; {denormals(moments):,} denormal of {sum(v.numel() for v in moments.values()):,} optimiser values")
    entry = get_zoo().model(args.model)
    spec = get_zoo().dataset(entry.data)
    images = genzoo.load_data(entry.data, image_size=spec.image_size, channels=spec.channels, root=args.data_root)
    loader = BatchLoader(images, entry.preprocessing, args.batch, 0, "cpu")
    runs = {"checkpoint, denormals kept": (args.checkpoint, False),
            "checkpoint, denormals flushed": (args.checkpoint, True), "fresh weights, flushed": (None, True)}
    seconds: dict[str, list[float]] = {label: [] for label in runs}
    for _ in range(args.repeats):
        for label, (source, flush) in runs.items():
            seconds[label].append(seconds_per_step(args.model, source, flush, loader, args))
    print(f"{args.model}, batch {args.batch}, {args.steps} steps x {args.repeats} repeats, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {platform.processor() or platform.machine()}")
    print("| weights | s/step (median) |\n|---|---:|")
    for label, values in seconds.items():
        print(f"| {label} | {statistics.median(values):.2f} |")


if __name__ == "__main__":
    main()
