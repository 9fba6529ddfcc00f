"""Glow's config and sampling options: the fields ``genzoo info glow`` shows. ``--set`` on
``genzoo train`` changes the config (what the model is); on ``genzoo sample``, the sampling options."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from genzoo.core.config import Retired, check, option


@dataclass(frozen=True)
class GlowSampleOptions:
    temperature: float = option(
        0.7, "Std multiplier of every Gaussian latent (the paper shows T = 0.7: cleaner, less diverse "
             "samples than T = 1); 0 = the means.")

    def __post_init__(self) -> None:
        check(self.temperature >= 0, "temperature", self.temperature, "0 or more")


@dataclass(frozen=True)
class GlowConfig:
    retired: ClassVar[dict[str, Retired]] = {"temperature": Retired(
        "the temperature is a sampling option now (genzoo sample --set temperature={value})",
        same_as_now=(GlowSampleOptions.temperature,))}
    """Fields folders saved by earlier versions carry (genzoo.core.config.Retired)."""

    image_size: int = option(28, "Side of the square images; divisible by 2^levels.")
    channels: int = option(1, "Image channels: 1 (grayscale) or 3 (RGB).", choices=(1, 3))
    levels: int = option(2, "Levels L: each squeezes, runs `steps` flow steps, and all but the last split.")
    steps: int = option(4, "Flow steps K per level (actnorm, 1x1 conv, coupling); the paper uses 32.")
    hidden: int = option(64, "Channels of the coupling networks' hidden layers (the paper: 512).")
    learn_top: bool = option(True, "Learn the mean and std of the top-level Gaussian prior.")
    lr: float = option(1e-3, "Adam learning rate (the paper: 1e-3).")

    def __post_init__(self) -> None:
        check(self.levels >= 1, "levels", self.levels, "at least 1")
        step = 2 ** self.levels
        check(self.image_size % step == 0, "image_size", self.image_size,
              f"a multiple of 2^levels = {step} (each level squeezes the side by 2)")
        check(self.steps >= 1, "steps", self.steps, "at least 1")
        check(self.hidden >= 4, "hidden", self.hidden, "at least 4")
        check(self.lr > 0, "lr", self.lr, "positive")
