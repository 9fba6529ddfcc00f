"""The vanilla GAN: an MLP generator and an MLP discriminator on flattened pixels.

This is the baseline every later GAN is measured against (Goodfellow et al. 2014, in the
shape of the common PyTorch MNIST example): no convolutions, so no spatial prior at all,
which is why it needs more steps than DCGAN and why its samples stay speckled. Training
alternates one discriminator and one generator step with the non-saturating loss.

With ``g_norm="batch"`` (the zoo's vanilla-gan-* variants) the generator batch-normalises its
hidden layers but the first, as PyTorch-GAN's gan.py does: without it the plain MLP generator
is slow to learn saturated outputs and draws grey backgrounds it has not yet pushed to -1
(the comparison with that reference is in bench/RESULTS.md, bench/reference.py).
"""

from __future__ import annotations

import itertools

import torch
from torch import nn

from genzoo.core.gan import TwoPlayerGAN

from .config import VanillaGANConfig


def _mlp(sizes: list[int], dropout: float = 0.0, norm: bool = False) -> list[nn.Module]:
    """Linear (+ BatchNorm1d with ``norm``, except after the first layer) + LeakyReLU(0.2) (+ dropout)
    between consecutive sizes; the caller adds the output layer."""
    layers: list[nn.Module] = []
    for i, (cin, cout) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(cin, cout))
        if norm and i > 0:
            layers.append(nn.BatchNorm1d(cout))
        layers.append(nn.LeakyReLU(0.2, True))
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
    return layers


class MLPGenerator(nn.Module):
    """z (N, latent_dim) -> images (N, C, H, W) in [-1, 1] through a tanh."""

    def __init__(self, latent_dim: int, hidden: tuple[int, ...], shape: tuple[int, int, int],
                 norm: bool = False) -> None:
        super().__init__()
        self.shape = shape
        out = shape[0] * shape[1] * shape[2]
        self.net = nn.Sequential(*_mlp([latent_dim, *hidden], norm=norm), nn.Linear(hidden[-1], out),
                                 nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(z.shape[0], *self.shape)


class MLPDiscriminator(nn.Module):
    """images -> one logit each. Dropout (on in training only) keeps D from memorising early."""

    def __init__(self, hidden: tuple[int, ...], shape: tuple[int, int, int], dropout: float) -> None:
        super().__init__()
        inp = shape[0] * shape[1] * shape[2]
        self.net = nn.Sequential(*_mlp([inp, *hidden], dropout), nn.Linear(hidden[-1], 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images.flatten(1)).view(-1)


class VanillaGAN(TwoPlayerGAN):
    def __init__(self, config: VanillaGANConfig) -> None:
        super().__init__(config)
        shape = (config.channels, config.image_size, config.image_size)
        self.generator = MLPGenerator(config.latent_dim, config.g_hidden, shape, config.g_norm == "batch")
        self.discriminator = MLPDiscriminator(config.d_hidden, shape, config.dropout)
