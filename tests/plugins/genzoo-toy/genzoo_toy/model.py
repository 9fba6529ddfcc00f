"""The toy family: an MLP generator and discriminator using genzoo's shared GAN losses."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from genzoo.core.config import option
from genzoo.core.gan import discriminator_loss, generator_loss
from genzoo.core.model import ZooModel
from genzoo.core.phases import Phase


@dataclass(frozen=True)
class ToyConfig:
    image_size: int = option(28, "Image side in pixels.")
    channels: int = option(1, "Image channels.")
    latent_dim: int = option(16, "Noise size.")
    hidden: int = option(64, "Hidden units.")


class ToyGAN(ZooModel):
    ema_modules = ("generator",)

    def __init__(self, config: ToyConfig) -> None:
        super().__init__(config)
        d = config.channels * config.image_size**2
        self.generator = nn.Sequential(
            nn.Linear(config.latent_dim, config.hidden), nn.ReLU(), nn.Linear(config.hidden, d), nn.Tanh()
        )
        self.discriminator = nn.Sequential(nn.Linear(d, config.hidden), nn.LeakyReLU(0.2), nn.Linear(config.hidden, 1))

    def sample(self, n, *, labels=None, generator=None):
        c = self.config
        z = torch.randn(n, c.latent_dim, device=self.device, generator=generator)
        return self.generator(z).view(n, c.channels, c.image_size, c.image_size)

    def _d(self, batch):
        fake = self.sample(len(batch)).detach()
        real = self.discriminator(batch.images.flatten(1)).view(-1)
        return {"loss": discriminator_loss(real, self.discriminator(fake.flatten(1)).view(-1), "bce")}

    def _g(self, batch):
        fake = self.sample(len(batch))
        return {"loss": generator_loss(self.discriminator(fake.flatten(1)).view(-1), "bce")}

    def phases(self):
        return [Phase("d", [self.discriminator], self._d), Phase("g", [self.generator], self._g)]
