"""Masked convolutions: how a PixelCNN sees only the sub-pixels before the one it predicts.

Sub-pixels are ordered in raster order, and within a pixel R before G before B. Every
feature map is split into one contiguous block of channels per image channel (its "group"):
a feature of group g at pixel (i, j) may depend on all sub-pixels of earlier pixels and, at
(i, j) itself, on groups before g (mask type A, the first layer, which must not see the
value it predicts) or up to and including g (type B, later layers, whose group-g features
at (i, j) already exclude the group-g input sub-pixel). For grayscale there is one group and
the rule reduces to the familiar centre-pixel mask.

Kept inside the pixelcnn plugin: no other family in the zoo is autoregressive over pixels.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

MaskType = Literal["A", "B"]


def channel_groups(n: int, groups: int, parts: int = 1) -> torch.Tensor:
    """Group index of each of ``n`` channels. ``parts`` > 1 repeats the grouping in each of that
    many equal chunks, so that ``x.chunk(parts, dim=1)`` (the two halves of a gate) keeps it."""
    per_part = n // parts
    return (torch.arange(n) % per_part) * groups // per_part


class MaskedConv2d(nn.Conv2d):
    """A convolution whose kernel is zero at and after ``center`` in raster order, except that at
    ``center`` itself input group h may reach output group g when h < g (A) or h <= g (B).

    ``pad`` is (left, right, top, bottom) zero padding; the default centres a square kernel.
    A horizontal-stack kernel (1, k) uses ``center=(0, k - 1)`` and ``pad=(k - 1, 0, 0, 0)``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int], *,
                 mask_type: MaskType, groups: int, center: tuple[int, int] | None = None,
                 pad: tuple[int, int, int, int] | None = None, out_parts: int = 1) -> None:
        kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
        super().__init__(in_channels, out_channels, (kh, kw), padding=0)
        ci, cj = center if center is not None else (kh // 2, kw // 2)
        self.pad = pad if pad is not None else (kw // 2, kw // 2, kh // 2, kh // 2)
        rows = torch.arange(kh).view(kh, 1)
        cols = torch.arange(kw).view(1, kw)
        before = (rows < ci) | ((rows == ci) & (cols < cj))
        mask = before.float().expand(out_channels, in_channels, kh, kw).clone()
        g_out = channel_groups(out_channels, groups, out_parts).view(-1, 1)
        g_in = channel_groups(in_channels, groups).view(1, -1)
        mask[:, :, ci, cj] = (g_in < g_out if mask_type == "A" else g_in <= g_out).float()
        self.register_buffer("mask", mask, persistent=False)
        self.mask_type = mask_type

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.pad(x, self.pad), self.weight * self.mask, self.bias)


def down_shift(x: torch.Tensor) -> torch.Tensor:
    """Move features one row down (zeros enter at the top): what the vertical stack hands the
    horizontal stack, so that row i only ever sees rows strictly above it."""
    return F.pad(x, (0, 0, 1, 0))[:, :, :-1]
