"""The vanilla GAN's config: the fields ``genzoo info vanilla-gan`` shows and ``--set`` may change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from genzoo.core.config import check, option


@dataclass(frozen=True)
class VanillaGANConfig:
    image_size: int = option(28, "Side of the square images, in pixels (the MLPs see H*W*C flat values).")
    channels: int = option(1, "Image channels: 1 (grayscale) or 3 (RGB).", choices=(1, 3))
    latent_dim: int = option(100, "Size of the noise vector z fed to the generator.")
    g_hidden: tuple[int, ...] = option((256, 512, 1024), "Generator hidden layer widths, from z upwards.")
    g_norm: Literal["batch", "none"] = option(
        "none", "Normalisation after each generator hidden layer but the first: batch (BatchNorm1d, as in "
                "PyTorch-GAN's gan.py) or none. The zoo's vanilla-gan-* variants set batch: it keeps every hidden "
                "layer's activations in range, so the generator learns sooner to push backgrounds to -1. The "
                "default stays none so that folders saved before the option existed load as they were trained.")
    d_hidden: tuple[int, ...] = option((1024, 512, 256), "Discriminator hidden widths, from the pixels down.")
    dropout: float = option(0.3, "Dropout after each discriminator hidden layer (0 = off); slows D down.")
    loss: Literal["bce", "hinge", "lsgan"] = option(
        "bce", "bce: non-saturating GAN loss (the paper's practical variant); hinge; lsgan (least squares)."
    )
    lr_g: float = option(2e-4, "Generator Adam learning rate.")
    lr_d: float = option(2e-4, "Discriminator Adam learning rate.")
    beta1: float = option(0.5, "Adam beta1.")
    beta2: float = option(0.999, "Adam beta2.")

    def __post_init__(self) -> None:
        check(4 <= self.image_size <= 128, "image_size", self.image_size, "4..128 (an MLP on pixels)")
        check(self.latent_dim >= 1, "latent_dim", self.latent_dim, "at least 1")
        check(len(self.g_hidden) >= 1 and min(self.g_hidden) >= 1, "g_hidden", self.g_hidden,
              "one or more positive widths")
        check(len(self.d_hidden) >= 1 and min(self.d_hidden) >= 1, "d_hidden", self.d_hidden,
              "one or more positive widths")
        check(0.0 <= self.dropout < 1.0, "dropout", self.dropout, "0 <= p < 1")
        check(self.lr_g > 0 and self.lr_d > 0, "lr_g/lr_d", (self.lr_g, self.lr_d), "positive")
        betas = (self.beta1, self.beta2)
        check(min(betas) >= 0 and max(betas) < 1, "beta1/beta2", betas, "in [0, 1)")
