"""The architecture fields every encoder/decoder family shares (VAE, autoencoders).

Kept apart from genzoo.core.conv_autoencoder, which builds the networks, because configs
must import without torch: ``genzoo info`` reads them while listing the zoo.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .config import check, option


@dataclass(frozen=True)
class AutoencoderShape:
    image_size: int = option(28, "Side of the square images, in pixels.", choices=(28, 32, 64))
    channels: int = option(1, "Image channels: 1 (grayscale) or 3 (RGB).", choices=(1, 3))
    arch: Literal["mlp", "conv"] = option(
        "conv", "mlp: fully connected nets on the flattened image (the VAE paper's MNIST model); "
                "conv: strided convolutions (genzoo.core.conv_autoencoder).")
    latent_dim: int = option(32, "Size of the code z (a VAE with 2 gives a plottable manifold).")
    width: int = option(32, "conv: channels of the first conv layer (doubled at each downsampling).")
    hidden: tuple[int, ...] = option((512, 256), "mlp: hidden layer widths, encoder side (the decoder mirrors them).")

    def __post_init__(self) -> None:
        check(self.latent_dim >= 1, "latent_dim", self.latent_dim, "at least 1")
        check(self.width >= 4, "width", self.width, "at least 4")
        check(len(self.hidden) >= 1 and all(h >= 1 for h in self.hidden), "hidden", self.hidden,
              "one or more positive widths")
