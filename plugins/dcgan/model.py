"""DCGAN (Radford, Metz & Chintala, 2016): the networks from genzoo.core.gan, trained in two
phases per step, discriminator then generator, with the non-saturating loss (or hinge)."""

from __future__ import annotations

import torch

from genzoo.core.gan import DCGANDiscriminator, DCGANGenerator, discriminator_loss, generator_loss, init_dcgan_weights
from genzoo.core.model import ZooModel
from genzoo.core.phases import Batch, Losses, Optim, Phase

from .config import DCGANConfig


class DCGAN(ZooModel):
    capabilities = frozenset({"sample"})
    ema_modules = ("generator",)

    def __init__(self, config: DCGANConfig) -> None:
        super().__init__(config)
        self.generator = DCGANGenerator(config.latent_dim, config.image_size, config.channels, config.g_width)
        self.discriminator = DCGANDiscriminator(config.image_size, config.channels, config.d_width, norm="batch")
        init_dcgan_weights(self)

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.randn(n, self.config.latent_dim, device=self.device, generator=generator)

    def sample(self, n: int, *, labels: torch.Tensor | None = None,
               generator: torch.Generator | None = None) -> torch.Tensor:
        return self.generator(self.noise(n, generator))

    def d_loss(self, batch: Batch) -> Losses:
        with torch.no_grad():
            fake = self.generator(self.noise(len(batch)))
        real_logits, fake_logits = self.discriminator(batch.images), self.discriminator(fake)
        return {
            "loss": discriminator_loss(real_logits, fake_logits, self.config.loss),
            "real": real_logits.detach().mean(),
            "fake": fake_logits.detach().mean(),
        }

    def g_loss(self, batch: Batch) -> Losses:
        fake = self.generator(self.noise(len(batch)))
        return {"loss": generator_loss(self.discriminator(fake), self.config.loss)}

    def phases(self) -> list[Phase]:
        c = self.config
        return [
            Phase("d", [self.discriminator], self.d_loss, Optim(lr=c.lr_d, betas=(c.beta1, c.beta2))),
            Phase("g", [self.generator], self.g_loss, Optim(lr=c.lr_g, betas=(c.beta1, c.beta2))),
        ]


def build(config: DCGANConfig) -> DCGAN:
    return DCGAN(config)
