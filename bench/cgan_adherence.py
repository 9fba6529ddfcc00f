"""Does cgan-mnist (or cgan-cifar10) draw the class it is asked for? Its recipe vs PyTorch-GAN's cgan.py, same compute.

Class adherence is what a conditional GAN adds over an unconditional one, and FID cannot
see it (a model that draws perfect digits of the wrong class scores well). So besides
FID/KID/precision/recall of samples with random labels, each model draws ``--per-class``
images of every class, conditioned as ``genzoo sample --per-class`` does, and the zoo's shipped
evaluator for the data (LeNet-MNIST, 99.4 % on MNIST test; ResNet-CIFAR-10 on CIFAR-10; the
classifiers behind the zoo's FID features) says which class each one is: class accuracy = the
share it reads as the asked-for class (chance: 10%).

Both sides train on the same batches (the zoo's BatchLoader, batch ``i`` at step ``i``)
for the same number of steps at the same batch size:

- genzoo: the cgan-mnist (``--model cgan-cifar10``) recipe through ``genzoo.train`` (the shared trainer), scored with
  the weights a user samples with (EMA) and the raw ones;
- reference: eriklindernoren/PyTorch-GAN implementations/cgan/cgan.py, re-implemented from its
  source: a 10-d label embedding concatenated to z, MLP generator 110-128-256-512-1024-C*H*W with
  BatchNorm1d (its second argument, 0.8, is eps; kept) and LeakyReLU(0.2), tanh; discriminator
  on [image, 10-d label embedding], (C*H*W+10)-512-512-512-1 with Dropout(0.4), least-squares (MSE)
  loss, Adam(2e-4, (0.5, 0.999)), generator step first and the discriminator then scoring that
  same batch of fakes, torch's default init. Sampled in eval mode like the zoo's models.

The per-class grid of the zoo model (EMA weights; one row per class, 0 at the top) goes to
bench/grids/MODEL-per-class.png, the reference's to bench/grids/cgan-reference-per-class.png (MNIST)
or MODEL-reference-per-class.png.

    .venv/bin/python bench/cgan_adherence.py --data-root /work/shared/data --steps 1200 --batch 64
    .venv/bin/python bench/cgan_adherence.py --model cgan-cifar10 --steps 2000 --batch 64 --n 10000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from reference import GRIDS, comparison_parser, parse_comparison  # bench/ is the script's own folder, on sys.path
from torch import nn

import genzoo
from genzoo.core.data import BatchLoader
from genzoo.core.data.transforms import denormalize
from genzoo.core.images import save_grid
from genzoo.core.metrics.extractors.defaults import default_extractor
from genzoo.core.metrics.extractors.evaluator import EvaluatorNet, accuracy
from genzoo.evaluation.during_training import training_evaluator
from genzoo.evaluation.evaluate import build_extractor
from genzoo.zoo import get_zoo

CLASSES, LATENT = 10, 100


# -- the reference: PyTorch-GAN cgan.py ----------------------------------------------------------
class ReferenceGenerator(nn.Module):
    def __init__(self, shape: tuple[int, int, int]) -> None:
        super().__init__()
        pixels = shape[0] * shape[1] * shape[2]
        self.label_emb = nn.Embedding(CLASSES, CLASSES)

        def block(cin: int, cout: int, norm: bool = True) -> list[nn.Module]:
            return [nn.Linear(cin, cout), *([nn.BatchNorm1d(cout, 0.8)] if norm else []), nn.LeakyReLU(0.2)]

        self.model = nn.Sequential(*block(LATENT + CLASSES, 128, norm=False), *block(128, 256), *block(256, 512),
                                   *block(512, 1024), nn.Linear(1024, pixels), nn.Tanh(), nn.Unflatten(1, shape))

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.model(torch.cat([self.label_emb(labels), z], dim=1))

    def sample(self, n: int, *, labels: torch.Tensor | None = None,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """The zoo's sampling signature, so the zoo's evaluators can score the reference too."""
        if labels is None:
            labels = torch.randint(CLASSES, (n,), generator=generator)
        return self(torch.randn(n, LATENT, generator=generator), labels)


class ReferenceDiscriminator(nn.Module):
    def __init__(self, pixels: int) -> None:
        super().__init__()
        self.label_embedding = nn.Embedding(CLASSES, CLASSES)
        self.model = nn.Sequential(
            nn.Linear(pixels + CLASSES, 512), nn.LeakyReLU(0.2),
            nn.Linear(512, 512), nn.Dropout(0.4), nn.LeakyReLU(0.2),
            nn.Linear(512, 512), nn.Dropout(0.4), nn.LeakyReLU(0.2),
            nn.Linear(512, 1),
        )

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.model(torch.cat([images.flatten(1), self.label_embedding(labels)], dim=1))


def reference(loader: BatchLoader, args: argparse.Namespace) -> ReferenceGenerator:
    torch.manual_seed(args.seed)
    g, d = ReferenceGenerator(args.shape), ReferenceDiscriminator(args.shape[0] * args.shape[1] * args.shape[2])
    mse = nn.MSELoss()
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    valid, fake = torch.ones(args.batch, 1), torch.zeros(args.batch, 1)
    for i in range(args.steps):
        batch = loader.batch(i)
        gen_labels = torch.randint(CLASSES, (args.batch,))
        gen = g(torch.randn(args.batch, LATENT), gen_labels)
        opt_g.zero_grad()
        mse(d(gen, gen_labels), valid).backward()
        opt_g.step()
        opt_d.zero_grad()
        ((mse(d(batch.images, batch.labels), valid) + mse(d(gen.detach(), gen_labels), fake)) / 2).backward()
        opt_d.step()
    return g.eval()


# -- the measurements ------------------------------------------------------------------------------
def per_class_samples(model: Any, per_class: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``per_class`` images of each class, class-major (as ``genzoo sample --per-class`` asks), in [-1, 1]."""
    labels = torch.arange(CLASSES).repeat_interleave(per_class)
    with torch.no_grad():
        images = model.sample(len(labels), labels=labels, generator=torch.Generator().manual_seed(seed))
    return images, labels


def class_accuracy(model: Any, clf: EvaluatorNet, args: argparse.Namespace) -> tuple[float, list[float]]:
    """Overall and per-class share of samples the evaluator reads as the class they were drawn for."""
    images, labels = per_class_samples(model, args.per_class, args.seed + 1)
    u8 = denormalize(images, "minus_one_one")
    per = [accuracy(clf, u8[labels == k], labels[labels == k]) for k in range(CLASSES)]
    return accuracy(clf, u8, labels), per


def save_per_class_grid(model: Any, path: Path, per_class: int = 10) -> None:
    images, _ = per_class_samples(model, per_class, seed=0)
    save_grid(images, path, nrow=per_class)


def train_genzoo(args: argparse.Namespace, run: str, config: dict[str, str]) -> tuple[float, list[tuple[str, Any]]]:
    start = time.perf_counter()
    genzoo.train(args.model, args.data, steps=args.steps, out=run, data_root=args.data_root,
                 config=config, progress=False,
                 train={"batch_size": args.batch, "seed": args.seed, "sample_every": 0, "checkpoint_every": 0})
    seconds = time.perf_counter() - start
    name = f"genzoo {args.model}" + "".join(f" {k}={v}" for k, v in config.items())
    return seconds, [(f"{name} (EMA weights)", genzoo.create_model(run)),
                     (f"{name} (raw weights)", genzoo.create_model(run, variant="raw"))]


def row(label: str, seconds: float, model: Any, clf: EvaluatorNet, score: Callable, args: argparse.Namespace) -> str:
    acc, per = class_accuracy(model, clf, args)
    s = {x.name: x.value for x in score(model)}
    print(f"{label}: per-class accuracy " + " ".join(f"{k}:{a:.2f}" for k, a in enumerate(per)), flush=True)
    return (f"| {label} | {seconds:.0f} | {acc:.3f} | {s['fid']:.1f} | {s['kid']:.4g} | {s['precision']:.3f} "
            f"| {s['recall']:.3f} | {s['density']:.3f} | {s['coverage']:.3f} |")


def main() -> None:
    parser = comparison_parser(__doc__, steps=1200, steps_help="generator steps, both sides",
                               set_help="config override for the zoo's side (default: its recipe)")
    parser.add_argument("--model", choices=("cgan-mnist", "cgan-cifar10"), default="cgan-mnist")
    parser.add_argument("--n", type=int, default=2000, help="samples (random labels) for FID/KID/precision/recall")
    parser.add_argument("--per-class", type=int, default=100, help="samples per class for class accuracy")
    parser.add_argument("--with-recipe", action="store_true",
                        help="with --set: train the recipe too, so the two zoo settings sit side by side")
    args = parse_comparison(parser)
    entry = get_zoo().model(args.model)
    spec = get_zoo().dataset(entry.data)
    args.data, args.shape = entry.data, (spec.channels, spec.image_size, spec.image_size)
    clf = build_extractor(default_extractor(args.data))  # the shipped evaluator
    score = training_evaluator(args.data, metrics="fid,kid,pr,dc", n=args.n, data_root=args.data_root)
    images = genzoo.load_data(args.data, image_size=spec.image_size, channels=spec.channels, root=args.data_root)
    loader = BatchLoader(images, entry.preprocessing, args.batch, args.seed, "cpu")
    start = time.perf_counter()
    ref = reference(loader, args)
    sides = [(time.perf_counter() - start, [("PyTorch-GAN cgan.py step (its MLPs)", ref)])]
    if not args.no_grids:
        save_per_class_grid(ref, GRIDS / ("cgan-reference-per-class.png" if args.data == "mnist"
                                          else f"{args.model}-reference-per-class.png"))
    rows = []
    configs = [args.config] + ([{}] if args.with_recipe and args.config else [])
    with tempfile.TemporaryDirectory() as tmp:
        for i, config in enumerate(configs):
            sides.append(train_genzoo(args, f"{tmp}/run{i}", config))
            if not args.no_grids:
                # the recipe's own grid keeps its name unless it is a --with-recipe companion
                tag = "".join(f"-{k}-{v}" for k, v in config.items()) or ("-recipe" if i else "")
                save_per_class_grid(sides[-1][1][0][1], GRIDS / f"{args.model}{tag}-per-class.png")
        for seconds, models in sides:
            rows += [row(label, seconds, model, clf, score, args) for label, model in models]
    sets = "".join(f" --set {kv}" for kv in args.set)
    print(f"\n{args.model}{sets}, {args.steps} steps, batch {args.batch}, seed {args.seed}; class accuracy: "
          f"{clf.name} on {args.per_class} samples per class; FID/KID/PR/DC: n={args.n} (random labels) vs "
          f"{args.data} test, {clf.name} features; torch {torch.__version__}, {torch.get_num_threads()} threads")
    print("| training | wall s | class accuracy ↑ | FID ↓ | KID ↓ | precision ↑ | recall ↑ | density ↑ | coverage ↑ |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
