"""PixelCNN (van den Oord, Kalchbrenner & Kavukcuoglu, 2016) and Gated PixelCNN (van den Oord
et al., 2016): an exact likelihood p(x) = prod_k p(x_k | x_<k) over the sub-pixels of an image
in raster order (R, G, B within a pixel), each factor a 256-way softmax.

Inputs are the integer levels 0..255 (preprocessing "uint8"); the network sees them rescaled to
[-1, 1] and is trained with cross-entropy against the levels, so ``log_prob`` is the discrete
log-likelihood in nats with nothing to add, and the loss divided by ln 2 is bits/dim.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from genzoo.core.errors import GenzooError
from genzoo.core.model import ZooModel
from genzoo.core.phases import Batch, Losses, Optim, Phase
from genzoo.core.progress import Progress

from .config import PixelCNNConfig, PixelCNNSampleOptions
from .masked import MaskedConv2d, down_shift

LEVELS = 256


# -- the two networks ---------------------------------------------------------------------------


class ResidualBlock(nn.Module):
    """ReLU, masked kxk conv, (class bias), ReLU, masked 1x1 conv, plus the input."""

    def __init__(self, hidden: int, kernel: int, groups: int, num_classes: int) -> None:
        super().__init__()
        self.conv = MaskedConv2d(hidden, hidden, kernel, mask_type="B", groups=groups)
        self.proj = MaskedConv2d(hidden, hidden, 1, mask_type="B", groups=groups)
        self.embed = nn.Embedding(num_classes, hidden) if num_classes else None

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        h = self.conv(F.relu(x))
        if self.embed is not None:
            h = h + self.embed(labels)[:, :, None, None]
        return x + self.proj(F.relu(h))


class PixelCNNNet(nn.Module):
    """The original PixelCNN: a type-A masked conv, then residual blocks of type-B convs. Its
    stacked masks leave a blind spot (pixels up and to the right it can never see)."""

    def __init__(self, c: PixelCNNConfig) -> None:
        super().__init__()
        self.first = MaskedConv2d(c.channels, c.hidden, c.first_kernel, mask_type="A", groups=c.channels)
        self.blocks = nn.ModuleList(
            ResidualBlock(c.hidden, c.kernel, c.channels, c.num_classes) for _ in range(c.layers)
        )
        self.reach = c.first_kernel // 2 + c.layers * (c.kernel // 2)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        h = self.first(x)
        for block in self.blocks:
            h = block(h, labels)
        return h


def gate(x: torch.Tensor) -> torch.Tensor:
    a, b = x.chunk(2, dim=1)
    return torch.tanh(a) * torch.sigmoid(b)


class GatedLayer(nn.Module):
    """One layer of the two stacks. The vertical stack sees a (p+1) x k window ending at the
    current row; shifted down a row it feeds the horizontal stack, which sees the current row
    up to the current pixel through a (1, p+1) masked kernel. Together they cover every earlier
    sub-pixel, which is what removes PixelCNN's blind spot."""

    def __init__(self, in_channels: int, hidden: int, kernel: int, groups: int, num_classes: int,
                 first: bool) -> None:
        super().__init__()
        p = kernel // 2
        self.v_pad = (p, p, p, 0)
        self.v = nn.Conv2d(in_channels, 2 * hidden, (p + 1, kernel))
        self.h = MaskedConv2d(in_channels, 2 * hidden, (1, p + 1), mask_type="A" if first else "B",
                              groups=groups, center=(0, p), pad=(p, 0, 0, 0), out_parts=2)
        self.v_to_h = nn.Conv2d(2 * hidden, 2 * hidden, 1)
        self.h_out = MaskedConv2d(hidden, hidden, 1, mask_type="B", groups=groups)
        self.embed = nn.Embedding(num_classes, 4 * hidden) if num_classes else None
        self.residual = not first

    def forward(self, v: torch.Tensor, h: torch.Tensor,
                labels: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        v_pre = self.v(F.pad(v, self.v_pad))
        h_pre = self.h(h) + self.v_to_h(down_shift(v_pre))
        if self.embed is not None:
            bias_v, bias_h = self.embed(labels)[:, :, None, None].chunk(2, dim=1)
            v_pre, h_pre = v_pre + bias_v, h_pre + bias_h
        h_new = self.h_out(gate(h_pre))
        return gate(v_pre), h + h_new if self.residual else h_new


class GatedPixelCNNNet(nn.Module):
    def __init__(self, c: PixelCNNConfig) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            [GatedLayer(c.channels, c.hidden, c.first_kernel, c.channels, c.num_classes, first=True)]
            + [GatedLayer(c.hidden, c.hidden, c.kernel, c.channels, c.num_classes, first=False)
               for _ in range(c.layers)]
        )
        self.reach = c.first_kernel // 2 + c.layers * (c.kernel // 2) + 1  # +1: the down shift

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        v = h = x
        for layer in self.layers:
            v, h = layer(v, h, labels)
        return h


# -- the model ----------------------------------------------------------------------------------


class PixelCNN(ZooModel):
    capabilities = frozenset({"sample", "log_prob"})
    sample_options = PixelCNNSampleOptions

    def __init__(self, config: PixelCNNConfig) -> None:
        super().__init__(config)
        c = config
        if c.num_classes:  # the registered conditional-pixelcnn says so too (tests/test_model_contract.py)
            self.capabilities = frozenset({"sample", "log_prob", "conditional"})
        self.net = GatedPixelCNNNet(c) if c.arch == "gated" else PixelCNNNet(c)
        self.head = nn.Sequential(
            nn.ReLU(), MaskedConv2d(c.hidden, c.hidden, 1, mask_type="B", groups=c.channels),
            nn.ReLU(), MaskedConv2d(c.hidden, c.channels * LEVELS, 1, mask_type="B", groups=c.channels),
        )

    @property
    def reach(self) -> int:
        """How many rows up and columns either side an output can depend on (the sampler's window)."""
        return self.net.reach

    def window(self, i: int, j: int, reach: int | None = None) -> tuple[int, int, int, int]:
        """Rows [top, bottom) and columns [left, right) of the input that sub-pixels at (i, j) depend on."""
        r, size = self.reach if reach is None else reach, self.config.image_size
        return max(0, i - r), i + 1, max(0, j - r), min(size, j + r + 1)

    def _labels(self, labels: torch.Tensor | None, n: int) -> torch.Tensor | None:
        if not self.config.num_classes:
            return None
        if labels is None:
            n_cls = self.config.num_classes
            raise GenzooError(f"this PixelCNN is class-conditional (num_classes={n_cls}): pass labels.")
        labels = labels.to(self.device, torch.long)
        return labels.expand(n) if labels.dim() == 0 else labels

    def logits(self, levels: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Levels 0..255 as floats (N, C, H, W) -> logits (N, C, 256, H, W)."""
        n, c, h, w = levels.shape
        out = self.head(self.net(levels / 127.5 - 1.0, self._labels(labels, n)))
        return out.view(n, c, LEVELS, h, w)

    def log_prob(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Exact log p(x) in nats: the sum of log-softmax at the true level of every sub-pixel."""
        targets = images.round().long().clamp_(0, LEVELS - 1)
        logp = F.log_softmax(self.logits(images, labels).float(), dim=2)
        return logp.gather(2, targets.unsqueeze(2)).squeeze(2).flatten(1).sum(1)

    def nll(self, batch: Batch) -> Losses:
        logits = self.logits(batch.images, batch.labels)
        targets = batch.images.round().long().clamp_(0, LEVELS - 1)
        nats = F.cross_entropy(logits.float().transpose(1, 2), targets)  # mean nats per sub-pixel
        return {"loss": nats, "bits_per_dim": nats.detach() / math.log(2)}

    def phases(self) -> list[Phase]:
        return [Phase("nll", [self], self.nll, Optim(lr=self.config.lr, betas=(0.9, 0.999)))]

    # -- sampling -------------------------------------------------------------------------------

    @torch.no_grad()
    def sample(self, n: int, *, labels: torch.Tensor | None = None, generator: torch.Generator | None = None,
               progress: bool | None = None, **options: Any) -> torch.Tensor:
        """Draw n images one sub-pixel at a time; returns them in [-1, 1]. ``options`` are
        PixelCNNSampleOptions: ``sampler`` ("cropped" or "naive") and ``temperature``.

        Why "cropped" is exact: an output at (i, j) depends only on inputs at most ``reach`` rows
        above and ``reach`` columns either side, and on nothing below row i. Running the network on
        rows [i - reach, i] x columns [j - reach, j + reach] therefore gives the same logits at
        (i, j) as the whole image: every feature inside that cone is computed from the same inputs,
        and the zeros padded at a window edge that is not an image edge lie outside the cone.
        This needs no per-layer cache (and so no change to the networks) and costs a window of
        about (reach+1) x (2 reach+1) pixels per step instead of H x W (bench/pixelcnn_sampling.py).
        Both samplers draw all their uniforms up front and invert the CDF, so for the same seed
        they make the same images.
        """
        c, opts = self.config, self.sampling(options)
        naive = opts.sampler == "naive"
        labels = self._labels(labels, n)
        size, ch = c.image_size, c.channels
        x = torch.zeros(n, ch, size, size, device=self.device)
        u = torch.rand(n, ch, size, size, device=self.device, generator=generator)
        bar = Progress(size * size * ch, 0, "pixelcnn sampling", progress)
        try:
            for i in range(size):
                for j in range(size):
                    top, bottom, left, right = (0, size, 0, size) if naive else self.window(i, j)
                    for k in range(ch):
                        window = x[:, :, top:bottom, left:right]
                        logits = self.logits(window, labels)[:, k, :, i - top, j - left]
                        cdf = torch.softmax(logits.float() / opts.temperature, dim=-1).cumsum(-1)
                        level = torch.searchsorted(cdf, u[:, k, i, j, None].contiguous())
                        x[:, k, i, j] = level.squeeze(1).clamp_(max=LEVELS - 1).float()
                bar.update((i + 1) * size * ch)
        finally:
            bar.close()
        return x / 127.5 - 1.0
