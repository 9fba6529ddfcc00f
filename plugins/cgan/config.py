"""The conditional GAN's config: the fields ``genzoo info cgan`` shows and ``--set`` may change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from genzoo.core.config import check, option


@dataclass(frozen=True)
class CGANConfig:
    image_size: int = option(28, "Side of the square images, in pixels.", choices=(28, 32, 64))
    channels: int = option(1, "Image channels: 1 (grayscale) or 3 (RGB).", choices=(1, 3))
    num_classes: int = option(10, "Number of classes; labels are 0..num_classes-1.")
    latent_dim: int = option(100, "Size of the noise vector z fed to the generator.")
    embed_dim: int = option(50, "Size of the label embedding joined to z (and, for 'concat', to the image).")
    discriminator: Literal["concat", "projection"] = option(
        "projection",
        "How D sees the label: concat (embedding as extra input channels) or projection "
        "(logit = psi(phi(x)) + <embed(y), phi(x)>, Miyato & Koyama 2018).",
    )
    d_norm: Literal["batch", "spectral", "layer", "none"] = option(
        "batch", "Normalisation in the discriminator's hidden conv layers."
    )
    g_width: int = option(64, "Generator width: channels of its last hidden layer (ngf).")
    d_width: int = option(64, "Discriminator width: channels of its first layer (ndf).")
    loss: Literal["bce", "hinge"] = option("bce", "bce: non-saturating GAN loss; hinge: hinge loss.")
    aux_weight: float = option(
        1.0,
        "Weight of the class loss: cross-entropy of the projection term read as a classifier over all classes, "
        "on real images for D and on fakes for G (projection discriminator only; 0 = off).",
    )
    twin_classifier: bool = option(
        False,
        "TAC-GAN (Gong et al. 2019): a second class head on D's features learns the classes of G's fakes, and G "
        "minimises the first head's cross-entropy minus the twin's, which cancels the class loss's pull toward one "
        "easily classified image per class (needs aux_weight > 0).",
        added_later=True,
    )
    ms_weight: float = option(
        0.5,
        "Weight of the mode-seeking term (Mao et al. 2019): G is penalised by 1 / (|G(z1,y) - G(z2,y)| / |z1 - z2|), "
        "so it cannot draw one image per class whatever z is (0 = off).",
    )
    lr_g: float = option(2e-4, "Generator Adam learning rate.")
    lr_d: float = option(2e-4, "Discriminator Adam learning rate.")
    beta1: float = option(0.5, "Adam beta1.")
    beta2: float = option(0.999, "Adam beta2.")

    def __post_init__(self) -> None:
        check(self.num_classes >= 2, "num_classes", self.num_classes, "at least 2")
        check(self.latent_dim >= 1 and self.embed_dim >= 1, "latent_dim/embed_dim",
              (self.latent_dim, self.embed_dim), "at least 1")
        widths = (self.g_width, self.d_width)
        check(min(widths) >= 8, "g_width/d_width", widths, "at least 8")
        check(self.lr_g > 0 and self.lr_d > 0, "lr_g/lr_d", (self.lr_g, self.lr_d), "positive")
        check(self.aux_weight >= 0 and self.ms_weight >= 0, "aux_weight/ms_weight", (self.aux_weight, self.ms_weight),
              "0 (off) or more")
        check(self.aux_weight == 0 or self.discriminator == "projection", "aux_weight", self.aux_weight,
              "0 with discriminator='concat' (its features see the label, so a class loss on them is trivial)")
        check(not self.twin_classifier or self.aux_weight > 0, "twin_classifier", self.twin_classifier,
              "false when aux_weight is 0 (the twin corrects the class loss; without one there is nothing to correct)")
        betas = (self.beta1, self.beta2)
        check(min(betas) >= 0 and max(betas) < 1, "beta1/beta2", betas, "in [0, 1)")
