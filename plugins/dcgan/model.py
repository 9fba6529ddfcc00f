"""DCGAN (Radford, Metz & Chintala, 2016): the networks from genzoo.core.gan, trained in two
phases per step, discriminator then generator, with the non-saturating loss (or hinge)."""

from __future__ import annotations

from genzoo.core.gan import DCGANDiscriminator, DCGANGenerator, TwoPlayerGAN, init_dcgan_weights

from .config import DCGANConfig


class DCGAN(TwoPlayerGAN):
    def __init__(self, config: DCGANConfig) -> None:
        super().__init__(config)
        self.generator = DCGANGenerator(config.latent_dim, config.image_size, config.channels, config.g_width)
        self.discriminator = DCGANDiscriminator(config.image_size, config.channels, config.d_width, config.d_norm)
        init_dcgan_weights(self)
