"""WGAN-GP (Gulrajani et al. 2017): a critic estimating the Wasserstein-1 distance, kept
1-Lipschitz by a gradient penalty rather than weight clipping.

The critic is DCGAN's discriminator with per-sample (layer) normalisation or none: the
penalty constrains the gradient of each image's score with respect to that image, which
batch norm would make depend on the rest of the batch. It is trained ``n_critic`` times
per generator step (Phase repeats, each on a fresh batch), so the generator always faces
a nearly optimal critic; Adam without momentum, as in the paper.
"""

from __future__ import annotations

from typing import Any

import torch

from genzoo.core import batch_random
from genzoo.core.gan import DCGANDiscriminator, DCGANGenerator, init_dcgan_weights
from genzoo.core.model import ZooModel
from genzoo.core.penalties import gradient_penalty
from genzoo.core.phases import Batch, Losses, Optim, Phase

from .config import WGANGPConfig


class WGANGP(ZooModel):
    capabilities = frozenset({"sample"})
    ema_modules = ("generator",)

    def __init__(self, config: WGANGPConfig) -> None:
        super().__init__(config)
        self.generator = DCGANGenerator(config.latent_dim, config.image_size, config.channels, config.g_width)
        c = config
        self.critic = DCGANDiscriminator(c.image_size, c.channels, c.d_width, norm=c.critic_norm)
        init_dcgan_weights(self)

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return batch_random.randn(n, self.config.latent_dim, device=self.device, generator=generator)

    def sample(self, n: int, *, labels: torch.Tensor | None = None,
               generator: torch.Generator | None = None, **options: Any) -> torch.Tensor:
        self.sampling(options)  # no sampling options: refuse any, by name
        return self.generator(self.noise(n, generator))

    def critic_loss(self, batch: Batch) -> Losses:
        c = self.config
        with torch.no_grad():
            fake = self.generator(self.noise(len(batch)))
        real_score, fake_score = self.critic(batch.images), self.critic(fake)
        wasserstein = real_score.mean() - fake_score.mean()
        gp = gradient_penalty(self.critic, batch.images, fake)
        loss = -wasserstein + c.gp_weight * gp
        if c.drift > 0:
            loss = loss + c.drift * real_score.pow(2).mean()
        # "wasserstein" is the critic's estimate of W1(real, fake): it should shrink as G improves.
        return {"loss": loss, "wasserstein": wasserstein.detach(), "gp": gp.detach()}

    def g_loss(self, batch: Batch) -> Losses:
        return {"loss": -self.critic(self.generator(self.noise(len(batch)))).mean()}

    def phases(self) -> list[Phase]:
        c = self.config
        betas = (c.beta1, c.beta2)
        return [
            Phase("d", [self.critic], self.critic_loss, Optim(lr=c.lr_d, betas=betas), repeats=c.n_critic),
            Phase("g", [self.generator], self.g_loss, Optim(lr=c.lr_g, betas=betas)),
        ]
