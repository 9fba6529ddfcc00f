"""StyleGAN2's options: the fields ``genzoo info stylegan2`` shows and ``--set`` may change.

The defaults are the paper's config F at 256 pixels (rosinality/stylegan2-pytorch's defaults): style
dimension 512, an 8-layer mapping network, channel multiplier 2, Adam(0.002, (0, 0.99)), R1 gamma 10
every 16 steps, path length weight 2 every 4 steps, mixing probability 0.9. The small variants in
zoo.toml shrink widths and the mapping network to fit a CPU.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from genzoo.core.config import check, option

STARTS = (4, 7)
"""Side of the constant input: 4 for the official power-of-two sizes, 7 for 28-pixel MNIST."""


def start_size(image_size: int) -> int | None:
    """The constant input's side from which doublings reach ``image_size`` (at least one), or None."""
    for start in STARTS:
        size = start * 2
        while size < image_size:
            size *= 2
        if size == image_size:
            return start
    return None


@dataclass(frozen=True)
class StyleGAN2Config:
    image_size: int = option(256, "Side of the square images: 4 or 7 times a power of two (8..1024, 14, 28, ...).")
    channels: int = option(3, "Image channels of the generator's toRGB layers and the data: 1 or 3.", choices=(1, 3))
    style_dim: int = option(512, "Size of z and of the intermediate latent w (512 in the paper).")
    n_mlp: int = option(8, "Layers of the mapping network z -> w (8 in the paper).")
    channel_multiplier: int = option(2, "Width multiplier above 32 px: 2 is config F, 1 the smaller configs.")
    channel_max: int = option(512, "Most channels of any layer (512 in the paper; shrink it for a CPU).")
    lr_mlp: float = option(0.01, "Learning-rate multiplier of the mapping network (equalised lr: 0.01 in the paper).")
    lr: float = option(0.002, "Adam learning rate of both players (before the lazy-regularisation correction).")
    r1_gamma: float = option(10.0, "Weight of the R1 penalty on real images (0 = off).")
    d_reg_every: int = option(16, "Run the R1 penalty every N steps, scaled by N (lazy regularisation).")
    pl_weight: float = option(2.0, "Weight of the path length regulariser (0 = off).")
    g_reg_every: int = option(4, "Run the path length regulariser every N steps, scaled by N.")
    pl_decay: float = option(0.01, "Decay of the running mean of path lengths the regulariser pulls toward.")
    pl_batch_shrink: int = option(2, "The path length batch is the batch size divided by this.")
    mixing: float = option(0.9, "Probability of style mixing regularisation per training batch (0 = off).")
    w_avg_beta: float = option(0.995, "Decay of the tracked mean w (the truncation trick's centre).")

    def __post_init__(self) -> None:
        check(start_size(self.image_size) is not None and self.image_size <= 1024, "image_size", self.image_size,
              "4 or 7 times a power of two, at least 8 and at most 1024 (e.g. 28, 32, 256, 1024)")
        check(self.style_dim >= 1, "style_dim", self.style_dim, "at least 1")
        check(self.n_mlp >= 1, "n_mlp", self.n_mlp, "at least 1")
        check(self.channel_multiplier >= 1, "channel_multiplier", self.channel_multiplier, "at least 1")
        check(self.channel_max >= 4, "channel_max", self.channel_max, "at least 4")
        check(self.lr_mlp > 0 and self.lr > 0, "lr/lr_mlp", (self.lr, self.lr_mlp), "positive")
        check(self.r1_gamma >= 0 and self.pl_weight >= 0, "r1_gamma/pl_weight", (self.r1_gamma, self.pl_weight),
              "0 (off) or more")
        check(self.d_reg_every >= 1 and self.g_reg_every >= 1, "d_reg_every/g_reg_every",
              (self.d_reg_every, self.g_reg_every), "at least 1")
        check(0 < self.pl_decay <= 1, "pl_decay", self.pl_decay, "in (0, 1]")
        check(self.pl_batch_shrink >= 1, "pl_batch_shrink", self.pl_batch_shrink, "at least 1")
        check(0 <= self.mixing <= 1, "mixing", self.mixing, "a probability in [0, 1]")
        check(0 <= self.w_avg_beta < 1, "w_avg_beta", self.w_avg_beta, "in [0, 1)")


_LAYERS = re.compile(r"^\d+(-\d*)?$")


@dataclass(frozen=True)
class StyleGAN2SampleOptions:
    """How to draw images; ``genzoo sample --truncation 0.7 --mix 1,2 --layers 0-3`` sets them."""

    truncation: float = option(1.0, "Truncation psi: w -> w_avg + psi (w - w_avg); below 1 trades variety for "
                                    "typical, cleaner images (0 = the average image).")
    noise: Literal["random", "fixed"] = option("random", "Per-layer noise inputs: random draws, or the fixed "
                                                         "maps stored with the weights (reproducible details).")
    mix_seed: int | None = option(None, "Style mixing: the seed of a second set of latents, whose styles replace "
                                        "the first's at the layers mix_layers names.")
    mix_layers: str = option("0-3", "Layers of w+ taken from mix_seed's latents: 'A-B' (inclusive), 'A-' (A to "
                                    "the last) or 'A'. 0-3 are the coarse styles (pose, shape), later ones finer.")

    def __post_init__(self) -> None:
        check(self.truncation >= 0, "truncation", self.truncation, "0 or more (1 = no truncation)")
        check(bool(_LAYERS.match(self.mix_layers)), "mix_layers", self.mix_layers, "'A-B', 'A-' or 'A' (layer indices)")

    def layer_range(self, n_latent: int) -> range:
        """``mix_layers`` as indices into the n_latent rows of w+, checked against them."""
        first, _, last = self.mix_layers.partition("-")
        lo = int(first)
        hi = (int(last) if last else n_latent - 1) if "-" in self.mix_layers else lo
        check(lo <= hi < n_latent, "mix_layers", self.mix_layers, f"layers within 0-{n_latent - 1}, first <= last")
        return range(lo, hi + 1)
