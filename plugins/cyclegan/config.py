"""CycleGAN's config: the fields ``genzoo info cyclegan`` shows and ``--set`` may change.

Defaults follow the official code (junyanz/pytorch-CycleGAN-and-pix2pix) except the sizes:
its 256-pixel setting (ngf = ndf = 64, 9 residual blocks, 3-layer PatchGAN) is scaled down
to 28-32 pixel images and a CPU budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from genzoo.core.config import check, option


@dataclass(frozen=True)
class CycleGANConfig:
    image_size: int = option(32, "Side of the square images, in pixels (a multiple of 4: two 2x downsamplings).")
    channels: int = option(3, "Image channels of both domains: 1 (grayscale) or 3 (RGB).", choices=(1, 3))
    g_width: int = option(32, "Generator width: channels of the first 7x7 conv (ngf; 64 in the paper).")
    n_blocks: int = option(6, "Residual blocks at the generator's bottleneck (9 at 256 px, 6 at 128 px in the paper).")
    d_width: int = option(32, "Discriminator width: channels of its first conv (ndf; 64 in the paper).")
    d_layers: int = option(2, "Strided layers of the PatchGAN (3 = the paper's 70x70 patches; 2 = 34x34, 1 = 16x16).")
    dropout: bool = option(False, "Dropout(0.5) inside the residual blocks (off for CycleGAN in the official code).")
    lambda_cycle: float = option(10.0, "Weight of the cycle-consistency L1 losses A->B->A and B->A->B.")
    lambda_identity: float = option(0.5, "Identity loss weight as a fraction of lambda_cycle (0 = off).")
    pool_size: int = option(50, "Generated images kept per direction to show the discriminators (0 = no pool).")
    lr: float = option(2e-4, "Adam learning rate of generators and discriminators.")
    beta1: float = option(0.5, "Adam beta1.")
    beta2: float = option(0.999, "Adam beta2.")
    decay_start: float = option(0.5, "Fraction of training after which the learning rate decays linearly to 0.")
    layout: Literal["genzoo", "official"] = option(
        "genzoo", "Names of the generators' modules: official = the official code's (model.N, conv_block), so its "
                  "saved generators (latest_net_G_A.pth, horse2zebra.pth) load one to one; the layers are the same.")
    generators: Literal["both", "a2b"] = option(
        "both", "both: A->B and B->A generators and two discriminators (trainable); a2b: the A->B generator alone, "
                "e.g. one imported official generator file (translate a2b only, no training).")

    def __post_init__(self) -> None:
        check(self.image_size >= 8 and self.image_size % 4 == 0, "image_size", self.image_size,
              "a multiple of 4, at least 8")
        check(self.g_width >= 4 and self.d_width >= 4, "g_width/d_width", (self.g_width, self.d_width), "at least 4")
        check(self.n_blocks >= 0, "n_blocks", self.n_blocks, "0 or more")
        check(self.d_layers >= 1 and 2 ** self.d_layers <= self.image_size // 4, "d_layers", self.d_layers,
              f"between 1 and log2(image_size / 4) = {max(1, (self.image_size // 4).bit_length() - 1)}")
        check(self.lambda_cycle >= 0, "lambda_cycle", self.lambda_cycle, "0 or more")
        check(self.lambda_identity >= 0, "lambda_identity", self.lambda_identity, "0 or more")
        check(self.pool_size >= 0, "pool_size", self.pool_size, "0 or more")
        check(self.lr > 0, "lr", self.lr, "positive")
        check(0 <= self.beta1 < 1 and 0 <= self.beta2 < 1, "beta1/beta2", (self.beta1, self.beta2), "in [0, 1)")
        check(0 <= self.decay_start <= 1, "decay_start", self.decay_start, "in [0, 1]")
