"""Each family's default recipe vs the classic reference implementation of it, at the same compute.

Issue 4: a zoo recipe must be at least as good as the implementation people would otherwise
copy. Per family, one function below re-implements the reference's training step (read from
its source, not pasted); the harness around them is shared: the same MNIST batches (the
zoo's BatchLoader, batch ``i`` for the i-th draw on both sides), the same number of
generator steps (WGAN-GP: the same critic steps too) at the same batch size, wall seconds,
scores from the zoo's own LeNet-MNIST evaluator on the MNIST test split, one markdown table
per family and sample grids of both sides in bench/grids/reference-<family>-{genzoo,reference}.png.

- dcgan-mnist: pytorch/examples dcgan/main.py. Same networks on both sides (genzoo.core.gan);
  BCE against label tensors, one generator forward reused by both players, no EMA.
- vanilla-gan-mnist: eriklindernoren/PyTorch-GAN implementations/gan/gan.py with its own networks
  (G 100-128-256-512-1024-784, BatchNorm1d(eps=0.8) + LeakyReLU, tanh; D 784-512-256-1 + sigmoid),
  generator step first, the discriminator then scoring that same batch of fakes, halved BCE.
- wgan-gp-mnist: the Gulrajani et al. (2017) loop as PyTorch-GAN's wgan_gp.py runs it: 5 critic
  steps on fresh batches per generator step, lambda 10, Adam(1e-4, (0, 0.9)), no drift term, no
  EMA. Both sides train the zoo's DCGAN generator and layer-norm critic (the zoo's nets are not
  the MLPs of wgan_gp.py), so the table compares recipes, not architectures.
- vae-mlp-mnist: pytorch/examples vae/main.py (784-400-20 ReLU MLP, Bernoulli decoder, BCE summed
  over pixels and batch on the grey intensities, Adam 1e-3).
- vae-mnist (the conv VAE): fchollet's Keras VAE example (conv 32-64 encoder with a 16-unit dense
  layer, transposed-conv decoder, BCE on grey intensities summed over pixels + KL, averaged over
  the batch, Keras Adam), at the zoo variant's latent size (32; the example uses 2).
  Both VAE references' networks are put in the zoo's VAE class, so one ELBO/IWAE implementation
  scores both sides.
- vae-cifar10: AntixK/PyTorch-VAE's VanillaVAE with its configs/vae.yaml (Adam 5e-3, learning rate x 0.95
  per epoch, KL weight 2.5e-4 against the per-element mean squared error, [0, 1] inputs, tanh outputs,
  latent 128). Its nets take 64x64 images down to 2x2 in five stride-2 levels (32-64-128-256-512); at
  32x32 the same 2x2 bottleneck takes the first four. Its loss is a Gaussian decoder with a fixed
  sigma = sqrt(2.5e-4 x 3072 / 2) = 0.62 (pixel units in [0, 1]), which is how the zoo's VAE class scores it.
  It samples and scores under N(0, I), as upstream does; the zoo's side under its recipe's fitted prior.
- realnvp-mnist: chrischute/real-nvp train.py: Adam 1e-3 on the mean NLL in nats per image (its
  RealNVPLoss, k = 256), gradient norm clipped to 100, L2 5e-5 only on weight-norm scales (the zoo's
  nets have none, so no decay), uniform dequantisation + logit(0.05 + 0.9 x) (the zoo's own).
- glow-mnist: openai/glow train.py defaults: Adamax 1e-3, linearly warmed up over 10 epochs of 50,000
  images (lr * min(1, images seen / 500,000)), n_bits 8, actnorm initialised on the first batch; no
  Polyak averaging.
- pixelcnn-mnist: jzbontar/pixelcnn-pytorch main.py: SGD 0.01, Nesterov momentum 0.9, 256-way
  cross-entropy per pixel, no EMA (its batch is 128; both sides here use --batch).
The flow and PixelCNN references train the zoo's networks (same config), so the tables compare recipes.

GAN rows: FID/KID/precision/recall/density/coverage of n samples; genzoo is scored with its EMA weights (what a
user samples with) and its raw weights. RGB VAE rows: test bits/dim (IWAE bound, k importance samples) of the
8-bit images under each side's decoder as trained, again with each decoder's sigma refit to its own test
reconstruction error (a fixed sigma set by a loss weight is not the reference's best likelihood), and the
GAN columns for n samples (decoder means). MNIST VAE rows: test -ELBO and IWAE NLL (nats) on the first n
test images binarised with the model's fixed-seed evaluation binarisation, the examples' own
test loss (BCE against the grey intensities + KL), and the FID of n samples (decoder means).
Likelihood rows (flows, PixelCNN): exact test bits/dim on the first n MNIST test images (flows: one
fixed-seed uniform dequantisation), no FID (a PixelCNN draws one sub-pixel per network pass).
``--set FIELD=VALUE`` changes the zoo's model config on the zoo's side and in the references that
train the zoo's nets (e.g. CPU-sized WGAN-GP widths). bench/RESULTS.md holds the exact commands run.

    .venv/bin/python bench/reference.py vanilla-gan-mnist --data-root /work/shared/data --steps 800 --batch 64 --n 2000
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

import genzoo
from genzoo.core.config import parse_assignments
from genzoo.core.data import BatchLoader
from genzoo.core.data.transforms import normalize
from genzoo.core.device import flush_denormals
from genzoo.core.flows import bits_per_dim
from genzoo.core.images import save_grid
from genzoo.core.metrics.extractors.defaults import default_extractor
from genzoo.core.penalties import gradient_penalty
from genzoo.evaluation.during_training import training_evaluator
from genzoo.plugins.vae.model import gaussian_kl
from genzoo.zoo import get_zoo

GRIDS = Path(__file__).resolve().parent / "grids"


def adam(module: nn.Module, lr: float, betas: tuple[float, float]) -> torch.optim.Adam:
    """The references' optimiser: torch's default (unfused) Adam."""
    return torch.optim.Adam(module.parameters(), lr=lr, betas=betas)


class Sampler(nn.Module):
    """A bare generator with the zoo's ``sample`` signature, so the zoo's evaluator can score it."""

    def __init__(self, generator: nn.Module, latent_dim: int) -> None:
        super().__init__()
        self.generator, self.latent_dim = generator, latent_dim

    def sample(self, n: int, *, generator: torch.Generator | None = None, **_: Any) -> torch.Tensor:
        return self.generator(torch.randn(n, self.latent_dim, generator=generator))


# -- the references' training steps ---------------------------------------------------------------
def examples_dcgan(loader: BatchLoader, args: argparse.Namespace) -> nn.Module:
    model = genzoo.create_model(args.model, **args.config)
    g, d = model.generator, model.discriminator
    criterion = nn.BCEWithLogitsLoss()  # the examples' Sigmoid + BCELoss, fused for stability
    opt_d, opt_g = adam(d, 2e-4, (0.5, 0.999)), adam(g, 2e-4, (0.5, 0.999))
    ones, zeros = torch.ones(args.batch), torch.zeros(args.batch)
    for i in range(args.steps):
        real = loader.batch(i).images
        fake = g(torch.randn(args.batch, model.config.latent_dim))
        opt_d.zero_grad()
        (criterion(d(real), ones) + criterion(d(fake.detach()), zeros)).backward()
        opt_d.step()
        opt_g.zero_grad()
        criterion(d(fake), ones).backward()
        opt_g.step()
    return model


def pytorch_gan_nets(latent_dim: int = 100, shape: tuple[int, ...] = (1, 28, 28)) -> tuple[nn.Module, nn.Module]:
    """PyTorch-GAN gan.py's networks. BatchNorm1d's second argument there is eps (0.8), kept as is."""

    def block(cin: int, cout: int, norm: bool = True) -> list[nn.Module]:
        return [nn.Linear(cin, cout), *([nn.BatchNorm1d(cout, 0.8)] if norm else []), nn.LeakyReLU(0.2)]

    pixels = shape[0] * shape[1] * shape[2]
    g = nn.Sequential(*block(latent_dim, 128, norm=False), *block(128, 256), *block(256, 512), *block(512, 1024),
                      nn.Linear(1024, pixels), nn.Tanh(), nn.Unflatten(1, shape))
    d = nn.Sequential(nn.Flatten(), nn.Linear(pixels, 512), nn.LeakyReLU(0.2), nn.Linear(512, 256),
                      nn.LeakyReLU(0.2), nn.Linear(256, 1))  # logits: the sigmoid is fused into the loss
    return g, d


def pytorch_gan_vanilla(loader: BatchLoader, args: argparse.Namespace) -> nn.Module:
    g, d = pytorch_gan_nets(shape=args.shape)
    criterion = nn.BCEWithLogitsLoss()
    opt_g, opt_d = adam(g, 2e-4, (0.5, 0.999)), adam(d, 2e-4, (0.5, 0.999))
    valid, fake = torch.ones(args.batch, 1), torch.zeros(args.batch, 1)
    for i in range(args.steps):
        real = loader.batch(i).images
        opt_g.zero_grad()
        gen = g(torch.randn(args.batch, 100))
        criterion(d(gen), valid).backward()
        opt_g.step()
        opt_d.zero_grad()
        ((criterion(d(real), valid) + criterion(d(gen.detach()), fake)) / 2).backward()
        opt_d.step()
    return Sampler(g, 100)


def gulrajani_wgan_gp(loader: BatchLoader, args: argparse.Namespace, n_critic: int = 5,
                      lambda_gp: float = 10.0) -> nn.Module:
    model = genzoo.create_model(args.model, **args.config)
    g, critic, latent = model.generator, model.critic, model.config.latent_dim
    opt_g, opt_d = adam(g, 1e-4, (0.0, 0.9)), adam(critic, 1e-4, (0.0, 0.9))
    for i in range(args.steps):
        for j in range(n_critic):  # batches 5i..5i+4, as the zoo's trainer draws them
            real = loader.batch(n_critic * i + j).images
            with torch.no_grad():
                fake = g(torch.randn(args.batch, latent))
            opt_d.zero_grad()
            loss = critic(fake).mean() - critic(real).mean() + lambda_gp * gradient_penalty(critic, real, fake)
            loss.backward()
            opt_d.step()
        opt_g.zero_grad()
        (-critic(g(torch.randn(args.batch, latent))).mean()).backward()
        opt_g.step()
    return model


def glorot(net: nn.Module) -> nn.Module:
    """Keras' default init: glorot_uniform kernels and zero biases, on every conv and dense layer."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    return net


def bce_kl_steps(model: nn.Module, loader: BatchLoader, args: argparse.Namespace, opt: torch.optim.Optimizer,
                 per_image: bool) -> nn.Module:
    """Both VAE references' loop: BCE against the grey intensities in [0, 1] (not binarised), summed
    over pixels, + KL, summed over the batch (``per_image``: averaged over it instead)."""
    for i in range(args.steps):
        x = loader.batch(i).images
        mu, logvar = model.encode(x)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        bce = F.binary_cross_entropy_with_logits(model.decoder(z), x, reduction="sum")
        kld = gaussian_kl(mu, logvar).sum()
        loss = (bce + kld) / x.shape[0] if per_image else bce + kld
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model


def examples_vae(loader: BatchLoader, args: argparse.Namespace) -> nn.Module:
    """vae/main.py's 784-400-20 nets (fc21/fc22 as one 400->40 layer) inside the zoo's VAE class,
    whose decoder outputs are Bernoulli logits: sigmoid + BCE becomes BCE-with-logits."""
    model = genzoo.create_model("vae-mlp-mnist", hidden=(400,), latent_dim=20)
    model.encoder = nn.Sequential(nn.Flatten(), nn.Linear(784, 400), nn.ReLU(), nn.Linear(400, 40))
    model.decoder = nn.Sequential(nn.Linear(20, 400), nn.ReLU(), nn.Linear(400, 784), nn.Unflatten(1, (1, 28, 28)))
    return bce_kl_steps(model, loader, args, adam(model, 1e-3, (0.9, 0.999)), per_image=False)


def keras_conv_vae(loader: BatchLoader, args: argparse.Namespace) -> nn.Module:
    """fchollet's Keras VAE example (keras.io/examples/generative/vae): encoder Conv32-Conv64 (3x3,
    stride 2, ReLU) -> Dense 16 -> z_mean / z_log_var, decoder Dense 7x7x64 -> ConvT64-ConvT32
    (stride 2) -> ConvT1, at the zoo variant's latent size, Glorot init, Keras' Adam (eps 1e-7).
    Keras' 'same' padding at stride 2 pads (or, transposed, crops) only the bottom/right edge; the
    zero pads below reproduce that exactly rather than PyTorch's symmetric padding."""
    model = genzoo.create_model("vae-mnist", **args.config)
    latent = model.config.latent_dim

    def down(cin: int, cout: int) -> list[nn.Module]:
        return [nn.ZeroPad2d((0, 1, 0, 1)), nn.Conv2d(cin, cout, 3, 2), nn.ReLU()]

    def up(cin: int, cout: int) -> list[nn.Module]:
        return [nn.ConvTranspose2d(cin, cout, 3, 2), nn.ZeroPad2d((0, -1, 0, -1)), nn.ReLU()]

    model.encoder = glorot(nn.Sequential(*down(1, 32), *down(32, 64), nn.Flatten(), nn.Linear(64 * 7 * 7, 16),
                                         nn.ReLU(), nn.Linear(16, 2 * latent)))
    model.decoder = glorot(nn.Sequential(nn.Linear(latent, 64 * 7 * 7), nn.ReLU(), nn.Unflatten(1, (64, 7, 7)),
                                         *up(64, 64), *up(64, 32), nn.ConvTranspose2d(32, 1, 3, padding=1)))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    return bce_kl_steps(model, loader, args, opt, per_image=True)


def antixk_vanilla_vae(loader: BatchLoader, args: argparse.Namespace, lr: float = 5e-3, gamma: float = 0.95,
                       kld_weight: float = 2.5e-4, widths: tuple[int, ...] = (32, 64, 128, 256),
                       n_train: int = 50_000) -> nn.Module:
    """AntixK/PyTorch-VAE's VanillaVAE and configs/vae.yaml in the zoo's VAE class: 3x3 stride-2 conv +
    batch norm + LeakyReLU levels down to 2x2, fc_mu and fc_var as one layer, the mirrored transposed
    convs and a last up-level + conv + tanh; loss MSE (mean over every element) + kld_weight x the
    batch-mean KL; Adam with ExponentialLR stepped once per epoch (Lightning's default interval)."""
    image, latent = args.shape[1], 128
    sigma = (kld_weight * math.prod(args.shape) / 2) ** 0.5  # the Gaussian decoder its loss weight implies
    model = genzoo.create_model(args.model, latent_dim=latent, variance="fixed", sigma=sigma, prior="standard",
                                **args.config)
    bottom = image // 2 ** len(widths)

    def level(conv: type[nn.Module], cin: int, cout: int, **up: int) -> list[nn.Module]:
        return [conv(cin, cout, 3, stride=2, padding=1, **up), nn.BatchNorm2d(cout), nn.LeakyReLU()]

    top, flat = widths[-1], widths[-1] * bottom ** 2
    down = [m for cin, cout in pairwise((args.shape[0], *widths)) for m in level(nn.Conv2d, cin, cout)]
    up = [m for cin, cout in pairwise(widths[::-1]) for m in level(nn.ConvTranspose2d, cin, cout, output_padding=1)]
    model.encoder = nn.Sequential(*down, nn.Flatten(), nn.Linear(flat, 2 * latent))
    model.decoder = nn.Sequential(nn.Linear(latent, flat), nn.Unflatten(1, (top, bottom, bottom)), *up,
                                  *level(nn.ConvTranspose2d, widths[0], widths[0], output_padding=1),
                                  nn.Conv2d(widths[0], args.shape[0], 3, padding=1), nn.Tanh())
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=0.0)
    for i in range(args.steps):
        for group in opt.param_groups:
            group["lr"] = lr * gamma ** (i * args.batch // n_train)
        x = loader.batch(i).images
        mu, logvar = model.encode(x)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        kld = gaussian_kl(mu, logvar).mean()
        loss = F.mse_loss(model.decoder(z), x) + kld_weight * kld
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model


def chute_realnvp(loader: BatchLoader, args: argparse.Namespace) -> nn.Module:
    """chrischute/real-nvp's step on the zoo's RealNVP: its loss is the mean NLL in nats per image
    (prior + log-det + logit log-det - D log 256, what the zoo's ``log_prob`` returns), so its
    clip at norm 100 acts on gradients D ln 2 = 543x larger than those of the zoo's bits/dim loss."""
    model = genzoo.create_model(args.model, **args.config)
    params = list(model.parameters())
    opt = adam(model, 1e-3, (0.9, 0.999))  # L2 only on weight-norm "weight_g": the zoo's nets have none
    for i in range(args.steps):
        loss = -model.log_prob(loader.batch(i).images).mean()
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(params, 100.0)
        opt.step()
    return model


def openai_glow(loader: BatchLoader, args: argparse.Namespace, n_train: int = 50_000,
                epochs_warmup: int = 10) -> nn.Module:
    """openai/glow's defaults on the zoo's Glow: Adamax 1e-3 with a linear warm-up over
    n_train * epochs_warmup images, counted before each step (the first step runs at lr 0). Its
    objective is bits/dim of the 8-bit image, the zoo's ``nll``; actnorm initialises itself from
    the first training batch on both sides."""
    model = genzoo.create_model(args.model, **args.config)
    opt = torch.optim.Adamax(model.parameters(), lr=1e-3, betas=(0.9, 0.999))
    for i in range(args.steps):
        for group in opt.param_groups:
            group["lr"] = 1e-3 * min(1.0, i * args.batch / (n_train * epochs_warmup))
        loss = model.nll(loader.batch(i))["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model


def jzbontar_pixelcnn(loader: BatchLoader, args: argparse.Namespace) -> nn.Module:
    """jzbontar/pixelcnn-pytorch's loop on the zoo's PixelCNN: SGD(0.01, momentum 0.9, Nesterov),
    cross-entropy over 256 levels per pixel (the zoo's ``nll`` loss is the same mean)."""
    model = genzoo.create_model(args.model, **args.config)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    for i in range(args.steps):
        loss = model.nll(loader.batch(i))["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model


@dataclass(frozen=True)
class Reference:
    source: str
    train: Callable[[BatchLoader, argparse.Namespace], nn.Module]
    kind: Literal["gan", "vae", "vae-rgb", "likelihood"]
    grid: int = 64
    """Samples in each grid: a PixelCNN draws them one network pass per pixel, so it shows fewer."""


REFERENCES = {
    "dcgan-mnist": Reference("pytorch/examples dcgan/main.py step", examples_dcgan, "gan"),
    "vanilla-gan-mnist": Reference("PyTorch-GAN gan.py (its nets and step)", pytorch_gan_vanilla, "gan"),
    "wgan-gp-mnist": Reference("Gulrajani et al. loop (PyTorch-GAN wgan_gp.py style), zoo nets",
                               gulrajani_wgan_gp, "gan"),
    "vae-mlp-mnist": Reference("pytorch/examples vae/main.py (784-400-20)", examples_vae, "vae"),
    "vae-mnist": Reference("Keras VAE example (conv, its nets at the zoo's latent size)", keras_conv_vae, "vae"),
    "vae-cifar10": Reference("AntixK/PyTorch-VAE VanillaVAE (configs/vae.yaml), 4 levels at 32x32",
                             antixk_vanilla_vae, "vae-rgb"),
    "realnvp-mnist": Reference("chrischute/real-nvp train.py step, zoo nets", chute_realnvp, "likelihood"),
    "glow-mnist": Reference("openai/glow defaults (Adamax, warm-up), zoo nets", openai_glow, "likelihood"),
    "pixelcnn-mnist": Reference("jzbontar/pixelcnn-pytorch loop (SGD Nesterov), zoo nets", jzbontar_pixelcnn,
                                "likelihood", grid=16),
}
REFERENCES.update({f"{family}-cifar10": REFERENCES[f"{family}-mnist"]
                   for family in ("dcgan", "vanilla-gan", "wgan-gp", "realnvp", "glow", "pixelcnn")})
"""The references whose loop is not tied to MNIST run on CIFAR-10 as well, on the zoo's -cifar10 variant
(or, for PyTorch-GAN's MLPs, at 3x32x32). The MNIST VAE references are MNIST programs (Bernoulli decoders on
grey intensities); vae-cifar10 has its own above. cgan-cifar10's class adherence is bench/cgan_adherence.py's."""


# -- the shared harness ---------------------------------------------------------------------------
def train_genzoo(name: str, data: str, args: argparse.Namespace,
                 tmp: str) -> tuple[float, list[tuple[str, nn.Module]]]:
    """The zoo's default recipe for ``name`` through genzoo.train: wall seconds and the weights to score."""
    start = time.perf_counter()
    genzoo.train(name, data, steps=args.steps, out=f"{tmp}/run", data_root=args.data_root, progress=False,
                 config=args.config,
                 train={"batch_size": args.batch, "seed": args.seed, "sample_every": 0, "checkpoint_every": 0})
    seconds = time.perf_counter() - start
    model = genzoo.create_model(f"{tmp}/run")
    if not model.ema_modules:
        return seconds, [(f"genzoo {name}", model)]
    return seconds, [(f"genzoo {name} (EMA weights)", model),
                     (f"genzoo {name} (raw weights)", genzoo.create_model(f"{tmp}/run", variant="raw"))]


def save_samples(model: nn.Module, path: Path, n: int = 64) -> None:
    with torch.no_grad():
        save_grid(model.sample(n, generator=torch.Generator().manual_seed(0)), path, nrow=round(n ** 0.5))


def gan_scores(model: nn.Module, score: Callable, test: torch.Tensor, args: argparse.Namespace) -> list[str]:
    s = score(model)
    return [f"{s['fid']:.1f}", f"{s['kid']:.4g}", f"{s['precision']:.3f}", f"{s['recall']:.3f}",
            f"{s['density']:.3f}", f"{s['coverage']:.3f}"]


def vae_scores(model: nn.Module, score: Callable, test: torch.Tensor, args: argparse.Namespace) -> list[str]:
    """Test -ELBO and IWAE bound on binarised images (the zoo's VAE.nll), the examples' test loss
    on grey intensities (one z per image), and the FID of samples."""
    torch.manual_seed(1)
    chunks = test.split(100)
    with torch.no_grad():
        elbo = torch.cat([model.nll(x, k=1) for x in chunks]).double().mean().item()
        iwae = torch.cat([model.nll(x, k=args.k, chunk=5000) for x in chunks]).double().mean().item()
        grey = torch.cat([sum(model.elbo_terms(x, x)) for x in chunks]).double().mean().item()
    s = score(model)
    return [f"{elbo:.2f}", f"{iwae:.2f}", f"{grey:.2f}", f"{s['fid']:.1f}", f"{s['precision']:.3f}",
            f"{s['recall']:.3f}"]


def test_log_prob(model: nn.Module, levels: torch.Tensor) -> torch.Tensor:
    """log p(x) per test image in nats (float64), the 8-bit images normalised as the model trains
    on them (flows: one fixed-seed uniform dequantisation, the same noise for every model)."""
    x = normalize(levels, model.preprocessing.normalize, generator=torch.Generator().manual_seed(0))
    model.eval()
    with torch.no_grad():
        return torch.cat([model.log_prob(chunk.to(model.device)).double().cpu() for chunk in x.split(250)])


def likelihood_scores(model: nn.Module, score: Callable, test: torch.Tensor, args: argparse.Namespace) -> list[str]:
    """Exact test bits/dim (see test_log_prob)."""
    levels = (test * 255).round().to(torch.uint8)
    return [f"{bits_per_dim(test_log_prob(model, levels), levels[0].numel()).mean().item():.4f}"]


def gaussian_vae_scores(model: nn.Module, score: Callable, test: torch.Tensor, args: argparse.Namespace) -> list[str]:
    """Test bits/dim (IWAE bound, k = args.k) under the decoder as trained and with each channel's sigma
    refit to the mean squared error of decodes at one posterior draw per image (the sigma that maximises
    the one-sample ELBO), then the GAN columns of samples."""
    x = (test * 255).round() / 255
    dims = x[0].numel()

    def bits() -> float:
        torch.manual_seed(1)
        with torch.no_grad():
            nats = torch.cat([model.nll(chunk, k=args.k, chunk=2000) for chunk in x.split(100)]).double()
        return bits_per_dim(-nats, dims).mean().item()  # nll is already -log P(8-bit image): no offset

    as_trained = bits()
    torch.manual_seed(2)
    with torch.no_grad():
        sq = torch.zeros(x.shape[1], dtype=torch.float64)
        for chunk in x.split(500):
            mu, logvar = model.encode(chunk)
            out = model.decoder(mu + torch.randn_like(mu) * (0.5 * logvar).exp())
            sq += (out - chunk).pow(2).sum((0, 2, 3)).double()
        trained_sigma = model.log_sigma.data.clone()
        model.log_sigma.data = (0.5 * (sq / (x.numel() / x.shape[1])).log()).float()
        refit = bits()
        model.log_sigma.data = trained_sigma
    return [f"{as_trained:.3f}", f"{refit:.3f}", *gan_scores(model, score, test, args)]


HEADERS = {
    "gan": ("FID ↓", "KID ↓", "precision ↑", "recall ↑", "density ↑", "coverage ↑"),
    "vae": ("test -ELBO, nats ↓", "test NLL (IWAE k={k}), nats ↓", "examples' test loss (grey), nats ↓", "FID ↓",
            "precision ↑", "recall ↑"),
    "vae-rgb": ("test bits/dim (IWAE k={k}) ↓", "bits/dim, sigma refit ↓", "FID ↓", "KID ↓", "precision ↑",
                "recall ↑", "density ↑", "coverage ↑"),
    "likelihood": ("test bits/dim ↓",),
}
SCORES = {"gan": gan_scores, "vae": vae_scores, "vae-rgb": gaussian_vae_scores, "likelihood": likelihood_scores}


def compare(name: str, args: argparse.Namespace, score: Callable, test: torch.Tensor) -> list[str]:
    """Train both sides of one family, save their grids, and return its markdown table."""
    ref, entry = REFERENCES[name], get_zoo().model(name)
    spec = get_zoo().dataset(entry.data)
    # the references' trainers read the family and its image shape beside the shared options
    args = argparse.Namespace(**vars(args), model=name, shape=(spec.channels, spec.image_size, spec.image_size))
    sides = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.side in ("both", "reference"):
            images = genzoo.load_data(entry.data, image_size=spec.image_size, channels=spec.channels,
                                      root=args.data_root)
            torch.manual_seed(args.seed)
            start = time.perf_counter()
            loader = BatchLoader(images, entry.preprocessing, args.batch, args.seed, "cpu")
            reference = ref.train(loader, args).eval()
            sides.append((time.perf_counter() - start, [(ref.source, reference)]))
            if not args.no_grids:
                save_samples(reference, GRIDS / f"reference-{name}-reference.png", ref.grid)
        if args.side in ("both", "genzoo"):
            seconds, zoo_models = train_genzoo(name, entry.data, args, tmp)
            sides.append((seconds, zoo_models))
            if not args.no_grids:  # the EMA weights: what users sample with
                save_samples(zoo_models[0][1], GRIDS / f"reference-{name}-genzoo.png", ref.grid)
        heads = [h.format(k=args.k) for h in HEADERS[ref.kind]]
        scored = (f"first n {entry.data} test images" if ref.kind == "likelihood"
                  else f"{entry.data} test, {default_extractor(entry.data)} features")
        lines = [f"{name}, {args.steps} steps, batch {args.batch}, seed {args.seed}; n={args.n}, {scored}; "
                 f"torch {torch.__version__}, {torch.get_num_threads()} threads",
                 "| training | wall s | " + " | ".join(heads) + " |", "|---|---:|" + "---:|" * len(heads)]
        for seconds, models in sides:
            for label, model in models:
                lines.append(f"| {label} | {seconds:.0f} | " + " | ".join(SCORES[ref.kind](model, score, test, args))
                             + " |")
    return lines


def comparison_parser(doc: str, *, steps: int, steps_help: str, set_help: str, batch: int = 64,
                      batch_help: str = "batch size, both sides") -> argparse.ArgumentParser:
    """The options every reference comparison script shares: data, budget, seed, threads, config overrides."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", default=os.environ.get("GENZOO_DATA", "/work/shared/data"))
    parser.add_argument("--steps", type=int, default=steps, help=steps_help)
    parser.add_argument("--batch", type=int, default=batch, help=batch_help)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help=set_help)
    parser.add_argument("--no-grids", action="store_true",
                        help="leave the grids in bench/grids alone (a smoke or extra-seed run must not replace the "
                             "ones bench/RESULTS.md shows)")
    return parser


def parse_comparison(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Parsed options with ``config`` (the --set overrides) added, torch's threads set and denormals
    flushed: genzoo.train flushes them for the whole process, so a reference side that ran first
    would otherwise train on the CPU's slow path and lose on wall time for that alone."""
    args = parser.parse_args()
    args.config = parse_assignments(args.set)
    torch.set_num_threads(args.threads)
    flush_denormals()
    return args


def main() -> None:
    parser = comparison_parser(
        __doc__, steps=600, steps_help="generator (VAE, flow, PixelCNN: optimiser) steps, both sides",
        set_help="model config override (e.g. g_width=32) for the zoo's side and for references that train the "
                 "zoo's nets (dcgan, wgan-gp, flows, pixelcnn); a CPU-sized net keeps both sides equal")
    parser.add_argument("families", nargs="+", choices=sorted(REFERENCES), metavar="FAMILY",
                        help=f"one or more of: {', '.join(sorted(REFERENCES))}")
    parser.add_argument("--n", type=int, default=2000, help="samples scored; test images for the VAE NLL and bits/dim")
    parser.add_argument("--k", type=int, default=100, help="importance samples of the VAE's IWAE bound")
    parser.add_argument("--side", choices=("both", "reference", "genzoo"), default="both",
                        help="train one side only, e.g. to run the two sides of a long comparison in parallel")
    args = parse_comparison(parser)
    scorers: dict[str, tuple[Callable, torch.Tensor]] = {}  # data set -> (score, test images), built once each
    for name in args.families:
        data = get_zoo().model(name).data
        if data not in scorers:
            spec = get_zoo().dataset(data)
            evaluate = training_evaluator(data, metrics="fid,kid,pr,dc", n=args.n, data_root=args.data_root)
            test = genzoo.load_data(data, image_size=spec.image_size, channels=spec.channels, split="test",
                                    root=args.data_root).images[:args.n].float() / 255
            scorers[data] = (lambda model, evaluate=evaluate: {s.name: s.value for s in evaluate(model)}, test)
        print("\n".join(compare(name, args, *scorers[data])) + "\n", flush=True)

if __name__ == "__main__":
    main()
