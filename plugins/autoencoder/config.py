"""The autoencoder's config: the fields ``genzoo info autoencoder`` shows and ``--set`` may change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from genzoo.core.config import check, option


@dataclass(frozen=True)
class AutoencoderConfig:
    image_size: int = option(28, "Side of the square images, in pixels.", choices=(28, 32, 64))
    channels: int = option(1, "Image channels: 1 (grayscale) or 3 (RGB).", choices=(1, 3))
    arch: Literal["mlp", "conv"] = option(
        "conv", "mlp: fully connected nets on the flattened image; conv: strided convolutions "
                "(genzoo.core.conv_autoencoder, shared with the VAE).")
    latent_dim: int = option(32, "Size of the code z.")
    width: int = option(32, "conv: channels of the first conv layer (doubled at each downsampling).")
    hidden: tuple[int, ...] = option((512, 256), "mlp: hidden layer widths, encoder side (the decoder mirrors them).")
    noise: Literal["gaussian", "salt_pepper", "mask"] = option(
        "gaussian", "Training corruption: gaussian (additive, std noise_std), salt_pepper or mask "
                    "(a noise_std fraction of pixels set to 0/1 or to 0).")
    noise_std: float = option(0.0, "Corruption strength; 0 = a plain autoencoder.")
    loss: Literal["mse", "bce"] = option(
        "mse", "Reconstruction loss against the clean image: mse (what PSNR measures; learns to denoise "
               "fastest) or bce (sigmoid outputs, cross-entropy with [0,1] targets).")
    lr: float = option(1e-3, "Adam learning rate.")

    def __post_init__(self) -> None:
        check(self.latent_dim >= 1, "latent_dim", self.latent_dim, "at least 1")
        check(self.width >= 4, "width", self.width, "at least 4")
        check(len(self.hidden) >= 1 and all(h >= 1 for h in self.hidden), "hidden", self.hidden,
              "one or more positive widths")
        check(self.noise_std >= 0, "noise_std", self.noise_std, "0 (plain autoencoder) or more")
        check(self.noise == "gaussian" or self.noise_std <= 1, "noise_std", self.noise_std,
              f"a fraction in [0, 1] for {self.noise} noise")
        check(self.lr > 0, "lr", self.lr, "positive")
