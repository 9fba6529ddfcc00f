"""DCGAN's config: the fields ``genzoo info dcgan`` shows and ``--set`` may change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from genzoo.core.config import check, option


@dataclass(frozen=True)
class DCGANConfig:
    image_size: int = option(32, "Side of the square images, in pixels.", choices=(28, 32, 64))
    channels: int = option(1, "Image channels: 1 (grayscale) or 3 (RGB).", choices=(1, 3))
    latent_dim: int = option(100, "Size of the noise vector z fed to the generator.")
    g_width: int = option(64, "Generator width: channels of its last hidden layer (ngf).")
    d_width: int = option(64, "Discriminator width: channels of its first layer (ndf).")
    # genzoo.core.gan.DiscNorm spelled out: config modules stay torch-free for `genzoo info`
    d_norm: Literal["batch", "spectral", "layer", "none"] = option(
        "batch", "Discriminator normalisation: batch (the paper's), spectral (SNGAN's; with loss = \"hinge\" and "
                 "lr_d > lr_g the SAGAN/BigGAN recipe), layer or none.")
    loss: Literal["bce", "hinge"] = option("bce", "bce: non-saturating GAN loss (the paper's); hinge: hinge loss.")
    lr_g: float = option(2e-4, "Generator Adam learning rate.")
    lr_d: float = option(2e-4, "Discriminator Adam learning rate.")
    beta1: float = option(0.5, "Adam beta1 (0.5 in the DCGAN paper).")
    beta2: float = option(0.999, "Adam beta2.")

    def __post_init__(self) -> None:
        check(self.latent_dim >= 1, "latent_dim", self.latent_dim, "at least 1")
        check(self.g_width >= 8 and self.d_width >= 8, "g_width/d_width", (self.g_width, self.d_width), "at least 8")
        check(self.lr_g > 0 and self.lr_d > 0, "lr_g/lr_d", (self.lr_g, self.lr_d), "positive")
        check(0 <= self.beta1 < 1 and 0 <= self.beta2 < 1, "beta1/beta2", (self.beta1, self.beta2), "in [0, 1)")
