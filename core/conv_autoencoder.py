"""Encoder and decoder networks shared by the autoencoder families (VAE, AE/DAE).

Both families map images to a flat code and back; they differ only in what the code
means (a Gaussian's mean and log-variance, or a point) and in their losses, so the nets
live here once and each family's model.py holds just its maths. Two shapes are offered:
an MLP on the flattened image (the VAE paper's MNIST model) and a small strided-conv net
that scales to 32x32 RGB. Neither uses batch norm: reconstructions and likelihoods must
not depend on which other images share the batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def conv_levels(image_size: int) -> int:
    """How many stride-2 halvings the conv nets use: halve while the side stays even and
    above 8 (28 -> 14 -> 7, 32 -> 16 -> 8, 64 -> 32 -> 16 -> 8)."""
    levels, side = 0, image_size
    while side % 2 == 0 and side > 8:
        side //= 2
        levels += 1
    return levels


class ConvEncoder(nn.Module):
    """(N, C, S, S) -> (N, out_features): a 3x3 stem, then stride-2 4x4 convs doubling the
    width at each level, then one linear layer on the flattened feature map."""

    def __init__(self, image_size: int, channels: int, width: int, out_features: int) -> None:
        super().__init__()
        levels = conv_levels(image_size)
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 3, padding=1), nn.SiLU()]
        w = width
        for _ in range(levels):
            layers += [nn.Conv2d(w, 2 * w, 4, stride=2, padding=1), nn.SiLU()]
            w *= 2
        self.net = nn.Sequential(*layers, nn.Flatten())
        side = image_size >> levels
        self.head = nn.Linear(w * side * side, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.net(x))


class ConvDecoder(nn.Module):
    """(N, in_features) -> (N, out_channels, S, S): the mirror of ConvEncoder. Returns raw
    outputs (logits or means); the family decides what they parameterise."""

    def __init__(self, in_features: int, image_size: int, out_channels: int, width: int) -> None:
        super().__init__()
        levels = conv_levels(image_size)
        self.side = image_size >> levels
        self.top = width << levels
        self.head = nn.Sequential(nn.Linear(in_features, self.top * self.side * self.side), nn.SiLU())
        layers: list[nn.Module] = []
        w = self.top
        for _ in range(levels):
            layers += [nn.ConvTranspose2d(w, w // 2, 4, stride=2, padding=1), nn.SiLU()]
            w //= 2
        layers.append(nn.Conv2d(w, out_channels, 3, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.head(z).view(z.shape[0], self.top, self.side, self.side)
        return self.net(h)


class MLPEncoder(nn.Module):
    """(N, C, S, S) -> (N, out_features) through fully connected layers of widths ``hidden``."""

    def __init__(self, image_size: int, channels: int, hidden: Sequence[int], out_features: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        d = channels * image_size * image_size
        for h in hidden:
            layers += [nn.Linear(d, h), nn.SiLU()]
            d = h
        layers.append(nn.Linear(d, out_features))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class MLPDecoder(nn.Module):
    """(N, in_features) -> (N, out_channels, S, S): the mirror of MLPEncoder (``hidden``
    is given encoder-side and reversed here)."""

    def __init__(self, in_features: int, image_size: int, out_channels: int, hidden: Sequence[int]) -> None:
        super().__init__()
        self.shape = (out_channels, image_size, image_size)
        layers: list[nn.Module] = []
        d = in_features
        for h in reversed(tuple(hidden)):
            layers += [nn.Linear(d, h), nn.SiLU()]
            d = h
        layers.append(nn.Linear(d, out_channels * image_size * image_size))
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(z.shape[0], *self.shape)


def make_encoder(arch: str, image_size: int, channels: int, width: int, hidden: Sequence[int],
                 out_features: int) -> nn.Module:
    """The encoder a family's ``arch`` field names ("mlp" or "conv")."""
    if arch == "conv":
        return ConvEncoder(image_size, channels, width, out_features)
    return MLPEncoder(image_size, channels, hidden, out_features)


def make_decoder(arch: str, in_features: int, image_size: int, out_channels: int, width: int,
                 hidden: Sequence[int]) -> nn.Module:
    """The decoder matching ``make_encoder``'s."""
    if arch == "conv":
        return ConvDecoder(in_features, image_size, out_channels, width)
    return MLPDecoder(in_features, image_size, out_channels, hidden)
