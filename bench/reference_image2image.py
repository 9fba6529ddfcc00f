"""Image-to-image families' default recipes vs their classic reference implementations (issue 4a).

The harness is bench/reference.py's: the same MNIST batches on both sides (the zoo's BatchLoader,
batch ``i`` for the i-th step), the same number of optimiser steps at the same batch size, wall
seconds, the zoo's own scores, one markdown table per family and grids of both sides in
bench/grids/reference-<model>-{genzoo,reference}.png. Each reference's training step is
re-implemented from its source (read, not pasted).

- dae-mnist vs Chollet's "Building Autoencoders in Keras" (2016) convolutional denoising
  autoencoder: x + noise_factor * N(0, 1) clipped to [0, 1], its own small fully convolutional net
  (Conv32-pool-Conv32-pool / Conv32-up-Conv32-up-Conv1, 3x3 ReLU, a 7x7x32 code, sigmoid output,
  Keras' Glorot-uniform init), per-pixel binary cross-entropy, Adam(1e-3, eps 1e-7). Its own net,
  because the net is the recipe people copy; a third row runs the Keras loss (sigmoid + BCE) on
  the zoo's net (``loss=bce``), which separates the loss from the architecture. Both sides train
  and are scored at the same noise level (--noise, the reference's 0.5 by default): the noise a
  DAE must undo is the task, not a recipe choice. Scores: PSNR (dB) and SSIM of the denoised
  first --n MNIST test images against the clean ones, scored as ``genzoo denoise`` does (8-bit
  noisy inputs from a fixed-seed generator, 8-bit outputs, genzoo.core.image_quality), next to
  the noisy inputs' own PSNR/SSIM.
- cyclegan-mnist-inverted vs junyanz/pytorch-CycleGAN-and-pix2pix's cycle_gan_model.py step on the
  zoo's networks (ResNet generators, PatchGANs, N(0, 0.02) init): LSGAN (MSE against 1/0 targets,
  the discriminators' loss halved), cycle L1 x 10, identity L1 x 0.5 x 10, generators then
  discriminators, a 50-image pool queried image by image with Python's ``random``, one Adam(2e-4,
  (0.5, 0.999)) per player, and its "linear" schedule (constant for the first half, then
  1 - max(0, t + 1 - half) / (half + 1)), at step instead of epoch granularity. Scores on the
  MNIST test split, halved as mnist-inverted halves it (A = first half, B = 255 - second half):
  the zoo's LeNet-MNIST evaluator's accuracy on A->B translations inverted back (255 - y) and on
  B->A translations, and the pixel error against the ground truth that exists here (the B image
  of digit x is 255 - x): mean absolute error in grey levels and PSNR of each translation
  against the true inverse.

    .venv/bin/python bench/reference_image2image.py dae-mnist --steps 600 --n 2000
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

import genzoo
from genzoo.core.data import BatchLoader
from genzoo.core.image_noise import corrupt
from genzoo.core.image_quality import mean_finite, psnr, ssim
from genzoo.core.images import save_grid
from genzoo.core.metrics.extractors.defaults import default_extractor
from genzoo.core.metrics.extractors.evaluator import accuracy
from genzoo.evaluation.evaluate import build_extractor
from genzoo.zoo import get_zoo

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference import GRIDS, adam, comparison_parser, glorot, parse_comparison


def to_uint8(x01: torch.Tensor) -> torch.Tensor:
    return (x01.clamp(0, 1) * 255).round().to(torch.uint8)


# -- dae-mnist: Chollet (2016), "Building Autoencoders in Keras", convolutional denoising AE ---------
def keras_dae_net() -> nn.Module:
    """The post's denoising net: 28x28x1 -> 7x7x32 -> 28x28x1, 'same' padding, sigmoid output."""

    def conv(cin: int, cout: int) -> nn.Module:
        return glorot(nn.Conv2d(cin, cout, 3, padding=1))

    return nn.Sequential(conv(1, 32), nn.ReLU(), nn.MaxPool2d(2), conv(32, 32), nn.ReLU(), nn.MaxPool2d(2),
                         conv(32, 32), nn.ReLU(), nn.Upsample(scale_factor=2), conv(32, 32), nn.ReLU(),
                         nn.Upsample(scale_factor=2), conv(32, 1))  # logits: sigmoid fused into the loss


class KerasDAE(nn.Module):
    """The Keras net behind the zoo's ``reconstruct`` signature, so one scorer serves both sides."""

    def __init__(self) -> None:
        super().__init__()
        self.net = keras_dae_net()

    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(images))


def keras_dae(loader: BatchLoader, args: argparse.Namespace) -> nn.Module:
    model = KerasDAE()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)  # Keras' Adam defaults
    for i in range(args.steps):
        clean = loader.batch(i).images
        noisy = (clean + args.noise * torch.randn_like(clean)).clamp(0, 1)
        loss = F.binary_cross_entropy_with_logits(model.net(noisy), clean)  # Keras: mean over pixels
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model


def dae_test(args: argparse.Namespace) -> tuple[torch.Tensor, torch.Tensor]:
    """The first n clean test digits and their noisy 8-bit versions, as ``genzoo denoise`` draws them."""
    test = genzoo.load_data("mnist", image_size=28, channels=1, split="test", root=args.data_root).images[:args.n]
    return test, to_uint8(corrupt(test.float() / 255, "gaussian", args.noise, torch.Generator().manual_seed(0)))


def denoise(model: nn.Module, noisy8: torch.Tensor) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return torch.cat([to_uint8(model.reconstruct(x.float() / 255)) for x in noisy8.split(500)])


def quality(clean8: torch.Tensor, x8: torch.Tensor) -> list[str]:
    return [f"{mean_finite(psnr(clean8.float(), x8.float(), 255.0)):.2f}",
            f"{ssim(clean8.float(), x8.float(), 255.0).mean().item():.4f}"]


def dae_table(name: str, sides: list[tuple[str, float, nn.Module]], args: argparse.Namespace) -> list[str]:
    clean8, noisy8 = dae_test(args)
    lines = ["| training | wall s | PSNR dB ↑ | SSIM ↑ |", "|---|---:|---:|---:|",
             "| noisy input (no model) | - | " + " | ".join(quality(clean8, noisy8)) + " |"]
    for i, (label, seconds, model) in enumerate(sides):
        out8 = denoise(model, noisy8)
        lines.append(f"| {label} | {seconds:.0f} | " + " | ".join(quality(clean8, out8)) + " |")
        if i < 2 and not args.no_grids:  # the zoo's default and the reference: clean | noisy | denoised
            rows = torch.cat([clean8[:8], noisy8[:8], out8[:8]])
            save_grid(rows, GRIDS / f"reference-{name}-{'genzoo' if i == 0 else 'reference'}.png",
                      nrow=8)
    return lines


# -- cyclegan-mnist-inverted: junyanz/pytorch-CycleGAN-and-pix2pix -----------------------------------
class OfficialPool:
    """The official ImagePool.query: fill up to ``size``; then, per image, with probability 0.5
    return a stored image and store the new one in its place, else return the new one."""

    def __init__(self, size: int) -> None:
        self.size, self.images = size, []

    def query(self, images: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return images.detach()  # the official backward_D_basic detaches what the pool returns
        out = []
        for image in images.detach():
            if len(self.images) < self.size:
                self.images.append(image)
                out.append(image)
            elif random.uniform(0, 1) > 0.5:
                k = random.randint(0, self.size - 1)
                out.append(self.images[k].clone())
                self.images[k] = image
            else:
                out.append(image)
        return torch.stack(out)


def official_cyclegan(loader: BatchLoader, args: argparse.Namespace, decay: bool = True) -> nn.Module:
    model = genzoo.create_model("cyclegan-mnist-inverted", **args.config)
    c = model.config
    g_ab, g_ba, d_a, d_b = model.g_ab, model.g_ba, model.d_a, model.d_b  # netG_A, netG_B, netD_B, netD_A there
    opt_g = adam(nn.ModuleList([g_ab, g_ba]), c.lr, (c.beta1, c.beta2))  # itertools.chain of both nets there
    opt_d = adam(nn.ModuleList([d_a, d_b]), c.lr, (c.beta1, c.beta2))
    half = args.steps // 2  # n_epochs = n_epochs_decay, in steps
    factor = (lambda t: 1.0 - max(0, t + 1 - half) / (args.steps - half + 1)) if decay else (lambda t: 1.0)
    scheds = [torch.optim.lr_scheduler.LambdaLR(o, factor) for o in (opt_g, opt_d)]
    pool_a, pool_b = OfficialPool(c.pool_size), OfficialPool(c.pool_size)
    random.seed(args.seed)

    def gan(pred: torch.Tensor, target: float) -> torch.Tensor:  # GANLoss("lsgan"): MSE to a constant
        return F.mse_loss(pred, torch.full_like(pred, target))

    for i in range(args.steps):
        batch = loader.batch(i)
        real_a, real_b = batch.images, batch.images_b
        fake_b, fake_a = g_ab(real_a), g_ba(real_b)
        for d in (d_a, d_b):
            d.requires_grad_(False)
        lam, idt = c.lambda_cycle, c.lambda_cycle * c.lambda_identity
        loss_g = (gan(d_b(fake_b), 1) + gan(d_a(fake_a), 1)
                  + lam * (F.l1_loss(g_ba(fake_b), real_a) + F.l1_loss(g_ab(fake_a), real_b))
                  + idt * (F.l1_loss(g_ab(real_b), real_b) + F.l1_loss(g_ba(real_a), real_a)))
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        for d in (d_a, d_b):
            d.requires_grad_(True)
        opt_d.zero_grad()
        for d, real, fake in ((d_b, real_b, pool_b.query(fake_b)), (d_a, real_a, pool_a.query(fake_a))):
            ((gan(d(real), 1) + gan(d(fake), 0)) * 0.5).backward()
        opt_d.step()
        for s in scheds:
            s.step()
    return model


def translate8(model: nn.Module, x8: torch.Tensor, direction: str) -> torch.Tensor:
    """8-bit images of one domain -> the other's, as ``genzoo translate`` maps them."""
    with torch.no_grad():
        return torch.cat([to_uint8((model.translate(x.float() / 127.5 - 1, direction) + 1) / 2)
                          for x in x8.split(500)])


def cyclegan_table(name: str, sides: list[tuple[str, float, nn.Module]], args: argparse.Namespace) -> list[str]:
    mnist = genzoo.load_data("mnist", image_size=28, channels=1, split="test", root=args.data_root)
    half = len(mnist) // 2
    a8, la = mnist.images[:half][:args.n], mnist.labels[:half][:args.n]
    digits_b8, lb = mnist.images[half:2 * half][:args.n], mnist.labels[half:2 * half][:args.n]
    b8 = 255 - digits_b8
    clf = build_extractor(default_extractor("mnist"))  # the shipped LeNet
    heads = ["LeNet acc A->B (inverted back) ↑", "LeNet acc B->A ↑", "A->B MAE vs 255-x ↓", "A->B PSNR dB ↑",
             "B->A MAE vs x ↓", "B->A PSNR dB ↑"]
    lines = ["| training | wall s | " + " | ".join(heads) + " |", "|---|---:|" + "---:|" * len(heads),
             f"| ground truth (255 - x) | - | {accuracy(clf, a8, la):.4f} | {accuracy(clf, digits_b8, lb):.4f} "
             "| 0 | inf | 0 | inf |"]

    for i, (label, seconds, model) in enumerate(sides):
        model.eval()
        ab8, ba8 = translate8(model, a8, "a2b"), translate8(model, b8, "b2a")
        cells = [f"{accuracy(clf, 255 - ab8, la):.4f}", f"{accuracy(clf, ba8, lb):.4f}"]
        for out8, truth8 in ((ab8, 255 - a8), (ba8, digits_b8)):
            cells += [f"{(out8.float() - truth8.float()).abs().mean().item():.1f}",
                      f"{mean_finite(psnr(truth8.float(), out8.float(), 255.0)):.2f}"]
        lines.append(f"| {label} | {seconds:.0f} | " + " | ".join(cells) + " |")
        rows = torch.cat([a8[:12], ab8[:12], b8[:12], ba8[:12]])  # A, A->B, B, B->A
        if not args.no_grids:
            save_grid(rows, GRIDS / f"reference-{name}-{'genzoo' if i == 0 else 'reference'}.png", nrow=12)
    return lines


# -- the harness ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reference:
    source: str
    train: Callable[[BatchLoader, argparse.Namespace], nn.Module]
    table: Callable[[str, list[tuple[str, float, nn.Module]], argparse.Namespace], list[str]]
    data: str
    zoo_config: Callable[[argparse.Namespace], dict]
    """The zoo-side config the comparison pins (the DAE's noise level) on top of --set."""
    extra: Callable[[argparse.Namespace], dict] | None = None
    """Config of an extra zoo-trained row: the reference's loss on the zoo's net."""


REFERENCES = {
    "dae-mnist": Reference("Keras blog conv DAE (Chollet 2016): its net, BCE, Adam", keras_dae, dae_table, "mnist",
                           lambda a: {"noise": "gaussian", "noise_std": a.noise},
                           lambda a: {"noise": "gaussian", "noise_std": a.noise, "loss": "bce"}),
    "cyclegan-mnist-inverted": Reference("junyanz/pytorch-CycleGAN-and-pix2pix step, zoo nets", official_cyclegan,
                                         cyclegan_table, "mnist-inverted", lambda a: {}),
}


def train_zoo(name: str, data: str, config: dict, args: argparse.Namespace) -> tuple[float, nn.Module]:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        genzoo.train(name, data, steps=args.steps, out=f"{tmp}/run", data_root=args.data_root, progress=False,
                     config=config,
                     train={"batch_size": args.batch, "seed": args.seed, "sample_every": 0, "checkpoint_every": 0})
        return time.perf_counter() - start, genzoo.create_model(f"{tmp}/run")


def compare(name: str, args: argparse.Namespace) -> list[str]:
    ref = REFERENCES[name]
    args.batch = args.batch or get_zoo().model(name).recipe["batch_size"]
    images = genzoo.load_data(ref.data, image_size=28, channels=1, root=args.data_root)
    torch.manual_seed(args.seed)
    start = time.perf_counter()
    loader = BatchLoader(images, get_zoo().model(name).preprocessing, args.batch, args.seed, "cpu")
    reference = ref.train(loader, args)
    ref_side = (ref.source, time.perf_counter() - start, reference)
    torch.manual_seed(args.seed)
    seconds, zoo = train_zoo(name, ref.data, {**args.config, **ref.zoo_config(args)}, args)
    pinned = ", ".join(f"{k}={v}" for k, v in ref.zoo_config(args).items())
    sides = [(f"genzoo {name} (default recipe{', ' + pinned if pinned else ''})", seconds, zoo), ref_side]
    if ref.extra is not None:
        extra = ref.extra(args)
        torch.manual_seed(args.seed)
        seconds, model = train_zoo(name, ref.data, {**args.config, **extra}, args)
        sides.append((f"genzoo net, {', '.join(f'{k}={v}' for k, v in extra.items())}", seconds, model))
    GRIDS.mkdir(exist_ok=True)
    noise = f", gaussian noise {args.noise:g} (train and test)" if name == "dae-mnist" else ""
    head = (f"{name}, {args.steps} steps, batch {args.batch}, seed {args.seed}; first n={args.n} MNIST test "
            f"images{noise}; torch {torch.__version__}, {torch.get_num_threads()} threads")
    return [head, *ref.table(name, sides, args)]


def same_step(args: argparse.Namespace, steps: int = 3) -> list[str]:
    """The zoo's CycleGAN against the official step with the randomness taken out: no image pool
    and a constant learning rate (their decay formulas differ by one step at the edges), the same
    init and batches. After each of the first ``steps`` steps: how far the two sets of parameters
    and their A->B translations of 64 test digits are apart."""
    name, config = "cyclegan-mnist-inverted", {**args.config, "pool_size": 0}
    images = genzoo.load_data("mnist-inverted", image_size=28, channels=1, root=args.data_root)
    test = genzoo.load_data("mnist", image_size=28, channels=1, split="test", root=args.data_root).images[:64]
    lines = ["| steps | median abs diff, parameters | entries apart by > 1e-6 | max abs diff, parameters "
             "| max abs diff, A->B outputs in [-1, 1] |", "|---:|---:|---:|---:|---:|"]
    for n in range(1, steps + 1):
        run = argparse.Namespace(**{**vars(args), "steps": n, "seed": 0, "config": config})
        torch.manual_seed(0)
        loader = BatchLoader(images, get_zoo().model(name).preprocessing, args.batch, 0, "cpu")
        ref = official_cyclegan(loader, run, decay=False)
        torch.manual_seed(0)
        zoo = train_zoo(name, "mnist-inverted", {**config, "decay_start": 1.0}, run)[1]
        diff = torch.cat([(a - b).abs().flatten() for a, b in zip(ref.parameters(), zoo.parameters())])
        with torch.no_grad():
            x = test.float() / 127.5 - 1
            out = (ref.eval().translate(x) - zoo.eval().translate(x)).abs().max().item()
        lines.append(f"| {n} | {diff.median().item():.1e} | {(diff > 1e-6).float().mean().item():.2%} "
                     f"| {diff.max().item():.1e} | {out:.1e} |")
    return lines


def main() -> None:
    parser = comparison_parser(
        __doc__, steps=600, steps_help="optimiser steps (CycleGAN: G and D steps), both sides", batch=0,
        batch_help="batch size, both sides; 0 = the zoo recipe's",
        set_help="zoo model config override, both sides where the reference trains the zoo's nets")
    parser.add_argument("families", nargs="+", choices=sorted(REFERENCES), metavar="FAMILY",
                        help=f"one or more of: {', '.join(sorted(REFERENCES))}")
    parser.add_argument("--n", type=int, default=2000, help="test images scored")
    parser.add_argument("--noise", type=float, default=0.5, help="DAE: gaussian noise std (Keras' noise_factor)")
    parser.add_argument("--same-step", action="store_true",
                        help="CycleGAN: instead of training, check that the first steps equal the official ones")
    args = parse_comparison(parser)
    batch = args.batch
    if args.same_step:
        args.batch = batch or get_zoo().model("cyclegan-mnist-inverted").recipe["batch_size"]
        print("\n".join(same_step(args)))
        return
    for name in args.families:
        args.batch = batch
        print("\n".join(compare(name, args)) + "\n", flush=True)


if __name__ == "__main__":
    main()
