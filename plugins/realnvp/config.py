"""RealNVP's config and sampling options: the fields ``genzoo info realnvp`` shows. ``--set`` on
``genzoo train`` changes the config (what the model is); on ``genzoo sample``, the sampling options."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from genzoo.core.config import Retired, check, option


@dataclass(frozen=True)
class RealNVPSampleOptions:
    temperature: float = option(
        0.7, "Std multiplier of the Gaussian latents: below 1 trades diversity for cleaner samples; 0 = the means.")

    def __post_init__(self) -> None:
        check(self.temperature >= 0, "temperature", self.temperature, "0 or more")


@dataclass(frozen=True)
class RealNVPConfig:
    retired: ClassVar[dict[str, Retired]] = {"temperature": Retired(
        "the temperature is a sampling option now (genzoo sample --set temperature={value})",
        same_as_now=(RealNVPSampleOptions.temperature,))}
    """Fields folders saved by earlier versions carry (genzoo.core.config.Retired)."""

    image_size: int = option(28, "Side of the square images; divisible by 2^(n_scales - 1).")
    channels: int = option(1, "Image channels: 1 (grayscale) or 3 (RGB).", choices=(1, 3))
    n_scales: int = option(2, "Scales: each but the last squeezes and factors half the dimensions out.")
    couplings: int = option(3, "Couplings per mask type per scale (paper: 3; the last scale has one more).")
    n_blocks: int = option(2, "Residual blocks in each s/t network (the paper: 8 on CIFAR-10).")
    hidden: int = option(32, "Channels of the s/t networks' hidden layers (the paper: 64).")
    alpha: float = option(0.05, "Logit transform margin: pixels map to logit(alpha + (1 - 2 alpha) x).")
    lr: float = option(1e-3, "Adam learning rate.")
    weight_decay: float = option(5e-5, "L2 penalty on the weights (the paper: 5e-5).")

    def __post_init__(self) -> None:
        check(self.n_scales >= 1, "n_scales", self.n_scales, "at least 1")
        step = 2 ** (self.n_scales - 1)
        check(self.image_size >= 2 and self.image_size % step == 0, "image_size", self.image_size,
              f"a multiple of 2^(n_scales - 1) = {step} (each scale halves the side)")
        check(self.couplings >= 1, "couplings", self.couplings, "at least 1")
        check(self.n_blocks >= 0, "n_blocks", self.n_blocks, "0 or more")
        check(self.hidden >= 4, "hidden", self.hidden, "at least 4")
        check(0.0 < self.alpha < 0.5, "alpha", self.alpha, "between 0 and 0.5")
        check(self.lr > 0, "lr", self.lr, "positive")
        check(self.weight_decay >= 0, "weight_decay", self.weight_decay, "0 or more")
