"""The VAE's config: the fields ``genzoo info vae`` shows and ``--set`` may change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from genzoo.core.autoencoder_shape import AutoencoderShape
from genzoo.core.config import check, option


@dataclass(frozen=True)
class VAEConfig(AutoencoderShape):
    likelihood: Literal["bernoulli", "gaussian"] = option(
        "bernoulli", "Decoder p(x|z): bernoulli (logits per pixel; binary images) or gaussian (a Gaussian "
                     "integrated over each 8-bit pixel's bin: a proper discrete likelihood).")
    binarize: Literal["dynamic", "none"] = option(
        "dynamic", "bernoulli: dynamic = train on a fresh Bernoulli(intensity) binarisation of every batch "
                   "(Burda et al.); none = use the [0,1] intensities as soft targets.")
    variance: Literal["learned", "fixed"] = option(
        "learned", "gaussian: learned = one learned scale per channel; fixed = the `sigma` below.")
    sigma: float = option(0.1, "gaussian: the decoder's standard deviation (in [0,1] pixel units) when fixed.")
    prior: Literal["standard", "fitted"] = option(
        "standard", "p(z) for sampling and likelihoods. standard: N(0, I), the prior the ELBO trains against. "
                    "fitted: a full Gaussian moment-matched to the codes of the last ~10,000 training images "
                    "(ex-post density estimation); training still pulls the codes towards N(0, I).")
    iw_samples: int = option(
        1, "Importance samples k in log_prob (IWAE bound). 1 = the ELBO, cheap but loose; "
           "use nll(images, k=100) for reported numbers.")
    lr: float = option(1e-3, "Adam learning rate.")

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.sigma > 0, "sigma", self.sigma, "positive")
        check(self.iw_samples >= 1, "iw_samples", self.iw_samples, "at least 1")
        check(self.lr > 0, "lr", self.lr, "positive")
