"""The autoencoder's config: the fields ``genzoo info autoencoder`` shows and ``--set`` may change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from genzoo.core.autoencoder_shape import AutoencoderShape
from genzoo.core.config import check, option


@dataclass(frozen=True)
class AutoencoderConfig(AutoencoderShape):
    noise: Literal["gaussian", "salt_pepper", "mask"] = option(
        "gaussian", "Training corruption: gaussian (additive, std noise_std), salt_pepper or mask "
                    "(a noise_std fraction of pixels set to 0/1 or to 0).")
    noise_std: float = option(0.0, "Corruption strength; 0 = a plain autoencoder.")
    loss: Literal["mse", "bce"] = option(
        "mse", "Reconstruction loss against the clean image: mse (what PSNR measures; learns to denoise "
               "fastest) or bce (sigmoid outputs, cross-entropy with [0,1] targets).")
    lr: float = option(1e-3, "Adam learning rate.")

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.noise_std >= 0, "noise_std", self.noise_std, "0 (plain autoencoder) or more")
        check(self.noise == "gaussian" or self.noise_std <= 1, "noise_std", self.noise_std,
              f"a fraction in [0, 1] for {self.noise} noise")
        check(self.lr > 0, "lr", self.lr, "positive")
