"""Building blocks that several GAN families share: the DCGAN networks and the GAN losses.

The networks follow Radford et al. (2016): transposed convolutions with batch norm and
ReLU in the generator, strided convolutions with LeakyReLU(0.2) in the discriminator, no
pooling, N(0, 0.02) initialisation. They scale to 28, 32 and 64 pixels by choosing the
starting resolution (7 for 28, else 4) and doubling until the target size.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from . import batch_random
from .errors import ConfigError
from .model import ZooModel
from .phases import Batch, Losses, Optim, Phase

DiscNorm = Literal["batch", "layer", "spectral", "none"]
GanLoss = Literal["bce", "hinge", "wgan", "lsgan"]


def _stages(image_size: int) -> tuple[int, int]:
    """(start resolution, number of 2x upsamplings) for a supported image size."""
    for start in (4, 7):
        k, size = 0, start
        while size < image_size:
            size, k = size * 2, k + 1
        if size == image_size and k >= 2:
            return start, k
    raise ConfigError(f"image_size={image_size} is not supported by the DCGAN networks; use 28, 32 or 64.")


def init_dcgan_weights(module: nn.Module) -> None:
    """N(0, 0.02) for convolutions, N(1, 0.02) for norm scales, as in the DCGAN paper.

    A spectrally normalised layer's ``weight`` is recomputed from ``parametrizations.weight.original``
    on every access, so initialising ``weight`` in place would change nothing: its original is drawn.
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            parametrized = nn.utils.parametrize.is_parametrized(m, "weight")
            nn.init.normal_(m.parametrizations.weight.original if parametrized else m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class DCGANGenerator(nn.Module):
    """z (N, latent_dim) -> images (N, channels, size, size) in [-1, 1]."""

    def __init__(self, latent_dim: int, image_size: int, channels: int, width: int = 64) -> None:
        super().__init__()
        start, k = _stages(image_size)
        ch = width * 2 ** (k - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(latent_dim, ch, start, 1, 0, bias=False), nn.BatchNorm2d(ch), nn.ReLU(True)
        ]
        for _ in range(k - 1):
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch // 2), nn.ReLU(True)]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, channels, 4, 2, 1), nn.Tanh()]
        self.latent_dim = latent_dim
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(z.shape[0], -1, 1, 1))


def _disc_block(cin: int, cout: int, norm: DiscNorm) -> list[nn.Module]:
    conv = nn.Conv2d(cin, cout, 4, 2, 1, bias=norm in ("none", "spectral"))
    if norm == "spectral":
        return [nn.utils.parametrizations.spectral_norm(conv), nn.LeakyReLU(0.2, True)]
    layers: list[nn.Module] = [conv]
    if norm == "batch":
        layers.append(nn.BatchNorm2d(cout))
    elif norm == "layer":  # per-sample normalisation: safe for gradient penalties
        layers.append(nn.GroupNorm(1, cout))
    return [*layers, nn.LeakyReLU(0.2, True)]


class DCGANDiscriminator(nn.Module):
    """images -> one logit (or critic value) per image; ``features`` exposes the last conv map."""

    def __init__(self, image_size: int, channels: int, width: int = 64, norm: DiscNorm = "batch") -> None:
        super().__init__()
        start, k = _stages(image_size)
        first = nn.Conv2d(channels, width, 4, 2, 1)
        if norm == "spectral":
            first = nn.utils.parametrizations.spectral_norm(first)
        layers: list[nn.Module] = [first, nn.LeakyReLU(0.2, True)]
        ch = width
        for _ in range(k - 1):
            layers += _disc_block(ch, ch * 2, norm)
            ch *= 2
        self.features = nn.Sequential(*layers)
        head = nn.Conv2d(ch, 1, start, 1, 0)
        self.head = nn.utils.parametrizations.spectral_norm(head) if norm == "spectral" else head
        self.feature_dim = ch

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images)).view(-1)


def discriminator_loss(real: torch.Tensor, fake: torch.Tensor, kind: GanLoss) -> torch.Tensor:
    """Loss of the discriminator/critic given its outputs on real and generated images."""
    if kind == "bce":
        return F.softplus(-real).mean() + F.softplus(fake).mean()
    if kind == "hinge":
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()
    if kind == "wgan":
        return fake.mean() - real.mean()
    if kind == "lsgan":
        return 0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake**2).mean()
    raise ConfigError(f"unknown GAN loss {kind!r}")


def generator_loss(fake: torch.Tensor, kind: GanLoss) -> torch.Tensor:
    """Generator loss given the discriminator's outputs on generated images (non-saturating for bce)."""
    if kind == "bce":
        return F.softplus(-fake).mean()
    if kind in ("hinge", "wgan"):
        return -fake.mean()
    if kind == "lsgan":
        return 0.5 * ((fake - 1) ** 2).mean()
    raise ConfigError(f"unknown GAN loss {kind!r}")


class TwoPlayerGAN(ZooModel):
    """An unconditional GAN trained in two phases per step: discriminator, then generator.

    Families differ in their networks, not in this loop, so a subclass only builds
    ``self.generator`` (z -> images) and ``self.discriminator`` (images -> logits). Its config
    needs ``latent_dim``, ``loss``, ``lr_g``, ``lr_d``, ``beta1`` and ``beta2``.
    """

    capabilities = frozenset({"sample"})
    ema_modules = ("generator",)

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Latents: from ``generator`` when sampling, else this step's share of the global batch's."""
        return batch_random.randn(n, self.config.latent_dim, device=self.device, generator=generator)

    def sample(self, n: int, *, labels: torch.Tensor | None = None,
               generator: torch.Generator | None = None, **options: Any) -> torch.Tensor:
        self.sampling(options)  # none of these families takes sampling options: refuse any, by name
        return self.generator(self.noise(n, generator))

    def d_loss(self, batch: Batch) -> Losses:
        with torch.no_grad():
            fake = self.generator(self.noise(len(batch)))
        real_logits, fake_logits = self.discriminator(batch.images), self.discriminator(fake)
        return {
            "loss": discriminator_loss(real_logits, fake_logits, self.config.loss),
            "real": real_logits.detach().mean(),
            "fake": fake_logits.detach().mean(),
        }

    def g_loss(self, batch: Batch) -> Losses:
        fake = self.generator(self.noise(len(batch)))
        return {"loss": generator_loss(self.discriminator(fake), self.config.loss)}

    def phases(self) -> list[Phase]:
        c = self.config
        return [
            Phase("d", [self.discriminator], self.d_loss, Optim(lr=c.lr_d, betas=(c.beta1, c.beta2))),
            Phase("g", [self.generator], self.g_loss, Optim(lr=c.lr_g, betas=(c.beta1, c.beta2))),
        ]
