"""DCGAN steps/s through genzoo's Trainer vs a plain hand-written PyTorch loop.

Both use the same generator/discriminator classes (genzoo.core.gan), the same batch of real
MNIST images per step, the same loss and the same optimiser (Adam 2e-4, betas (0.5, 0.999)).
The hand loop is what one would write from the DCGAN paper; it is run twice, once with
torch's default Adam (foreach) and once with the fused Adam the trainer uses, so the
comparison separates "what the trainer does per step" from "which Adam kernel runs".
Runs alternate (trainer, loop, loop-fused, trainer, ...) so drift on a shared machine
affects all alike; the median of the repeats is reported.

    python bench/trainer_overhead.py --data-root ../shared/data --steps 60 --repeats 5
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch

import genzoo
from genzoo.core.data import BatchLoader
from genzoo.core.gan import discriminator_loss, generator_loss
from genzoo.core.recipe import TrainConfig
from genzoo.core.trainer import Trainer
from genzoo.registry import get_zoo


def trainer_run(images, prep, args) -> float:
    torch.manual_seed(0)
    model = genzoo.create_model("dcgan-mnist")
    cfg = TrainConfig(steps=args.steps + args.warmup, batch_size=args.batch, log_every=50, sample_every=0,
                      checkpoint_every=0, device="cpu")
    loader = BatchLoader(images, prep, args.batch, 0, "cpu")
    trainer = Trainer(model, loader, cfg, run_dir=None, progress=False)
    for _ in range(args.warmup):
        trainer.train_step()
    start = time.perf_counter()
    for _ in range(args.steps):
        trainer.train_step()
    trainer._read_logs(args.steps, 1.0)  # the one sync a log interval costs
    return args.steps / (time.perf_counter() - start)


def loop_run(images, prep, args, fused: bool) -> float:
    torch.manual_seed(0)
    model = genzoo.create_model("dcgan-mnist")
    g, d, z_dim = model.generator, model.discriminator, model.config.latent_dim
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999), fused=fused or None)
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999), fused=fused or None)
    loader = BatchLoader(images, prep, args.batch, 0, "cpu")

    def step(i: int) -> None:
        real = loader.batch(i).images
        fake = g(torch.randn(args.batch, z_dim))
        opt_d.zero_grad(set_to_none=True)
        discriminator_loss(d(real), d(fake.detach()), "bce").backward()
        opt_d.step()
        opt_g.zero_grad(set_to_none=True)
        generator_loss(d(fake), "bce").backward()
        opt_g.step()

    for i in range(args.warmup):
        step(i)
    start = time.perf_counter()
    for i in range(args.steps):
        step(args.warmup + i)
    return args.steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", default="../shared/data")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    prep = get_zoo().model("dcgan-mnist").preprocessing
    images = genzoo.load_data("mnist", image_size=28, channels=1, root=args.data_root).subset(10_000)
    results: dict[str, list[float]] = {"trainer (fused Adam)": [], "hand loop (default Adam)": [],
                                       "hand loop (fused Adam)": []}
    for _ in range(args.repeats):
        results["trainer (fused Adam)"].append(trainer_run(images, prep, args))
        results["hand loop (default Adam)"].append(loop_run(images, prep, args, fused=False))
        results["hand loop (fused Adam)"].append(loop_run(images, prep, args, fused=True))
    print(f"DCGAN (dcgan-mnist, 28x28x1) batch {args.batch}, {args.steps} timed steps after {args.warmup} warm-up, "
          f"{args.repeats} alternating repeats; torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{platform.processor() or platform.machine()}")
    base = statistics.median(results["hand loop (fused Adam)"])
    print("| run | median steps/s | min | max | vs hand loop (fused) |")
    print("|---|---:|---:|---:|---:|")
    for name, values in results.items():
        med = statistics.median(values)
        print(f"| {name} | {med:.2f} | {min(values):.2f} | {max(values):.2f} | {med / base:.3f}x |")


if __name__ == "__main__":
    main()
