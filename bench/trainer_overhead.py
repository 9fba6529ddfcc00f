"""DCGAN steps/s through genzoo's Trainer vs plain hand-written PyTorch loops.

All runs use the same generator/discriminator classes (genzoo.core.gan), the same batches of
real MNIST, the same loss and Adam(2e-4, (0.5, 0.999)). The reference is a hand loop doing
exactly the model's math with the fused Adam the trainer uses, so the ratio is the
trainer's own per-step cost; further rows show torch's default Adam and the
pytorch/examples step (one generator forward reused for both players). Runs alternate, so
drift on a shared machine affects all alike; the median of the repeats is reported.

    python bench/trainer_overhead.py --data-root ../shared/data --steps 40 --repeats 5
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
from genzoo.zoo import get_zoo


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


def loop_run(images, prep, args, *, fused: bool, reuse_fake: bool) -> float:
    """A hand-written step over the same networks and loss.

    ``reuse_fake=False`` does the model's math exactly (a no-grad G forward for D's step, a
    fresh one for G's), so the difference to the trainer is the trainer's own cost.
    ``reuse_fake=True`` is pytorch/examples' DCGAN: one G forward, detached for D and reused
    for G (one G forward less, but D's weight gradients computed needlessly in G's step).
    """
    torch.manual_seed(0)
    model = genzoo.create_model("dcgan-mnist")
    g, d, z_dim = model.generator, model.discriminator, model.config.latent_dim
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999), fused=fused or None)
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999), fused=fused or None)
    loader = BatchLoader(images, prep, args.batch, 0, "cpu")

    def step(i: int) -> None:
        real = loader.batch(i).images
        if reuse_fake:
            fake = g(torch.randn(args.batch, z_dim))
            d_fake = fake.detach()
        else:
            with torch.no_grad():
                d_fake = g(torch.randn(args.batch, z_dim))
        opt_d.zero_grad(set_to_none=True)
        discriminator_loss(d(real), d(d_fake), "bce").backward()
        opt_d.step()
        if not reuse_fake:
            fake = g(torch.randn(args.batch, z_dim))
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
    runs = {
        "trainer (fused Adam)": lambda: trainer_run(images, prep, args),
        "hand loop, same math (fused Adam)": lambda: loop_run(images, prep, args, fused=True, reuse_fake=False),
        "hand loop, same math (default Adam)": lambda: loop_run(images, prep, args, fused=False, reuse_fake=False),
        "hand loop, pytorch/examples style (default Adam)":
            lambda: loop_run(images, prep, args, fused=False, reuse_fake=True),
    }
    results: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.repeats):
        for name, run in runs.items():
            results[name].append(run())
    print(f"DCGAN (dcgan-mnist, 28x28x1) batch {args.batch}, {args.steps} timed steps after {args.warmup} warm-up, "
          f"{args.repeats} alternating repeats; torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{platform.processor() or platform.machine()}")
    base = statistics.median(results["hand loop, same math (fused Adam)"])
    print("| run | median steps/s | min | max | vs hand loop, same math (fused) |")
    print("|---|---:|---:|---:|---:|")
    for name, values in results.items():
        med = statistics.median(values)
        print(f"| {name} | {med:.2f} | {min(values):.2f} | {max(values):.2f} | {med / base:.3f}x |")


if __name__ == "__main__":
    main()
