"""Autoencoder and denoising autoencoder, trained in one phase.

    x~ = corrupt(x)      z = f(x~)      loss = d(g(z), x)

With noise_std = 0, x~ = x and this is a plain autoencoder. With noise, the net must map
corrupted images back to clean ones, so it learns what clean images look like rather than
the identity (Vincent et al., 2008). The corruptions come from genzoo.core.image_noise,
the same ones ``genzoo denoise`` applies. Inputs and reconstructions are [0, 1] images
(preprocessing "zero_one"). There is no prior over z, so the model cannot sample.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from genzoo.core.conv_autoencoder import make_decoder, make_encoder
from genzoo.core.image_noise import corrupt
from genzoo.core.model import ZooModel
from genzoo.core.phases import Batch, Losses, Optim, Phase

from .config import AutoencoderConfig


class Autoencoder(ZooModel):
    capabilities = frozenset({"reconstruct", "encode"})

    def __init__(self, config: AutoencoderConfig) -> None:
        super().__init__(config)
        c = config
        self.encoder = make_encoder(c.arch, c.image_size, c.channels, c.width, c.hidden, c.latent_dim)
        self.decoder = make_decoder(c.arch, c.latent_dim, c.image_size, c.channels, c.width, c.hidden)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """The code z, (N, latent_dim)."""
        return self.encoder(images)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1]."""
        out = self.decoder(z)
        return torch.sigmoid(out) if self.config.loss == "bce" else out.clamp(0.0, 1.0)

    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        """The (denoised) reconstruction of ``images``, in the input space [0, 1]. No noise is added."""
        return self.decode(self.encode(images))

    def loss(self, batch: Batch) -> Losses:
        c = self.config
        clean = batch.images
        out = self.decoder(self.encode(corrupt(clean, c.noise, c.noise_std)))
        if c.loss == "bce":
            recon = F.binary_cross_entropy_with_logits(out, clean, reduction="none").flatten(1).sum(1)
        else:
            recon = (out - clean).pow(2).flatten(1).sum(1)
        with torch.no_grad():
            mse = ((torch.sigmoid(out) if c.loss == "bce" else out) - clean).pow(2).mean()
        return {"loss": recon.mean(), "recon": recon.detach().mean(), "mse": mse}

    def phases(self) -> list[Phase]:
        return [Phase("ae", [self], self.loss, Optim(lr=self.config.lr, betas=(0.9, 0.999)))]
