"""Which EMA schedule should a GAN recipe sample with? One run, several averages side by side.

A GAN recipe's EMA weights were behind its raw weights at short budgets (bench/reference.py:
dcgan-mnist at 600 steps, wgan-gp-mnist at 1,000), while the averages exist to be better.
Comparing schedules by retraining would mix their effect with seed noise, so this trains the
zoo's default recipe once, through the shared Trainer on the same batches as ``genzoo train``,
and keeps extra shadow copies of the generator beside the recipe's own EMA, each with its own
decay schedule. At each ``--at`` step every set of weights (raw, and each average with the
live batch-norm statistics, as the trainer samples) is scored by the zoo's LeNet-MNIST
evaluator on the MNIST test split (FID, precision, recall of ``--n`` samples, fixed noise).

Schedules (t = steps since the start):
- genzoo: the recipe's own EMA, genzoo.core.ema (half-life 2% of t, capped by the decay);
- tf-warmup: min(decay, (1 + t) / (10 + t)) (TensorFlow's ExponentialMovingAverage with
  num_updates; genzoo's schedule until 2026-11-24); horizon ~t/9 steps early on;
- rampup-R: StyleGAN2-ADA's half-life, min(10,000 images, R x images seen) converted to steps,
  decay 0.5 ** (1 / half-life in steps); horizon ~1.44 R t.

    .venv/bin/python bench/ema_schedules.py dcgan-mnist --steps 1500 --at 600 1500 --batch 64 \\
        --data-root /work/shared/data
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

import genzoo
from genzoo.core.config import parse_assignments
from genzoo.core.data import BatchLoader
from genzoo.core.ema import EMA
from genzoo.core.trainer import Trainer
from genzoo.evaluation.during_training import training_evaluator
from genzoo.zoo import get_zoo

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference import GRIDS, save_samples


class TFWarmupEMA(EMA):
    """genzoo's schedule until 2026-11-24: TensorFlow's num_updates warm-up."""

    def decay_at(self, t: int) -> float:
        return min(self.decay, (1 + t) / (10 + t))


class RampupEMA(EMA):
    """StyleGAN2-ADA's schedule: a half-life of min(10k images, ``rampup`` x images seen)."""

    def __init__(self, *args, rampup: float, batch: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.rampup, self.batch = rampup, batch

    def decay_at(self, t: int) -> float:
        half_life = min(10_000, self.rampup * (t + 1) * self.batch) / self.batch
        return 0.5 ** (1 / max(half_life, 1e-8))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="a registered GAN with ema_modules, e.g. dcgan-mnist")
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--at", type=int, nargs="+", default=[600, 1500], help="steps at which to score")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--rampups", type=float, nargs="+", default=[0.05])
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="model config override")
    p.add_argument("--data-root", default="/work/shared/data")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--grid", action="store_true",
                   help="save 64 samples of the recipe's EMA at the end to bench/grids/ema-schedules-MODEL.png")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    entry = get_zoo().model(args.model)
    overrides = parse_assignments(args.set)
    config = entry.make_config(overrides)
    recipe = entry.make_recipe({"batch_size": args.batch, "seed": args.seed, "steps": args.steps,
                                "sample_every": 0, "checkpoint_every": 0})
    prep = entry.make_preprocessing({})
    images = genzoo.load_data(entry.data, image_size=config.image_size, channels=config.channels,
                              resize=prep.resize, root=args.data_root)
    torch.manual_seed(recipe.seed)
    model = genzoo.create_model(args.model, **overrides)
    loader = BatchLoader(images, prep, recipe.batch_size, recipe.seed, "cpu")
    trainer = Trainer(model, loader, recipe, progress=False)
    if trainer.ema is None:
        p.error(f"{args.model} keeps no EMA (train.ema_decay = 0 or no ema_modules)")
    extra = {f"rampup-{r:g}": RampupEMA(model, model.ema_modules, recipe.ema_decay, rampup=r, batch=args.batch)
             for r in args.rampups}
    extra["tf-warmup"] = TFWarmupEMA(model, model.ema_modules, recipe.ema_decay)
    averages = {f"genzoo (decay cap {recipe.ema_decay:g})": trainer.ema, **extra}
    evaluate = training_evaluator("mnist", metrics="fid,pr", n=args.n, data_root=args.data_root)

    def scored(label: str) -> str:
        model.eval()
        with torch.no_grad():
            s = {x.name: x.value for x in evaluate(model)}
        model.train()
        return f"| {trainer.step} | {label} | {s['fid']:.1f} | {s['precision']:.3f} | {s['recall']:.3f} |"

    print(f"{args.model}, batch {args.batch}, seed {args.seed}, n={args.n}; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads\n", "| step | weights | FID ↓ | precision ↑ | recall ↑ |",
          "|---:|---|---:|---:|---:|", sep="\n", flush=True)
    start = time.perf_counter()
    while trainer.step < args.steps:
        trainer.train_step()
        for e in extra.values():
            e.update(trainer.step)
        if trainer.step in args.at:
            lines = [scored("raw")]
            for label, ema in averages.items():
                t = trainer.step - ema.start
                with ema.swapped_in(model):
                    lines.append(scored(f"{label}: decay now {ema.decay_at(t):.4f}, "
                                        f"horizon ~{1 / (1 - ema.decay_at(t)):.0f} steps"))
            print("\n".join(lines), flush=True)
    if args.grid:  # what a user samples with at the end of the run: the recipe's own EMA
        model.eval()
        with trainer.ema.swapped_in(model):
            save_samples(model, GRIDS / f"ema-schedules-{args.model}.png")
    print(f"\n{time.perf_counter() - start:.0f} s in all, scoring included")


if __name__ == "__main__":
    main()
