"""WGAN-GP's config: the fields ``genzoo info wgan-gp`` shows and ``--set`` may change."""

from __future__ import annotations

from dataclasses import dataclass

from genzoo.core.config import check, option


@dataclass(frozen=True)
class WGANGPConfig:
    image_size: int = option(28, "Side of the square images, in pixels.", choices=(28, 32, 64))
    channels: int = option(1, "Image channels: 1 (grayscale) or 3 (RGB).", choices=(1, 3))
    latent_dim: int = option(128, "Size of the noise vector z fed to the generator.")
    g_width: int = option(64, "Generator width: channels of its last hidden layer (ngf).")
    d_width: int = option(64, "Critic width: channels of its first layer (ndf).")
    critic_norm: str = option(
        "layer",
        "Normalisation in the critic: layer (per-sample, the paper's choice) or none. Never batch norm: "
        "it couples the images of a batch, so the per-image gradient the penalty constrains is not defined.",
        choices=("layer", "none"),
    )
    n_critic: int = option(5, "Critic updates per generator update (each on a fresh batch).")
    gp_weight: float = option(10.0, "lambda: weight of the gradient penalty.")
    drift: float = option(
        1e-3, "epsilon_drift * E[D(x_real)^2] keeps critic values near 0 (Karras et al. 2018); 0 = off."
    )
    lr_g: float = option(1e-4, "Generator Adam learning rate.")
    lr_d: float = option(1e-4, "Critic Adam learning rate.")
    beta1: float = option(0.0, "Adam beta1 (0: momentum fights the moving critic).")
    beta2: float = option(0.9, "Adam beta2.")

    def __post_init__(self) -> None:
        check(self.latent_dim >= 1, "latent_dim", self.latent_dim, "at least 1")
        widths = (self.g_width, self.d_width)
        check(min(widths) >= 8, "g_width/d_width", widths, "at least 8")
        check(self.n_critic >= 1, "n_critic", self.n_critic, "at least 1")
        check(self.gp_weight >= 0, "gp_weight", self.gp_weight, "0 or more")
        check(self.drift >= 0, "drift", self.drift, "0 or more")
        check(self.lr_g > 0 and self.lr_d > 0, "lr_g/lr_d", (self.lr_g, self.lr_d), "positive")
        betas = (self.beta1, self.beta2)
        check(min(betas) >= 0 and max(betas) < 1, "beta1/beta2", betas, "in [0, 1)")
