"""Glow (Kingma & Dhariwal, 2018): actnorm, invertible 1x1 convolution, affine coupling.

Pixels are dequantised to [0, 1) by the data pipeline and centred to [-0.5, 0.5). Each of
``levels`` levels squeezes 2x2 patches into channels and runs ``steps`` flow steps; every
level but the last then splits half its channels off, scored by a Gaussian whose mean and
std a zero-initialised convolution predicts from the kept half. The shared pieces (squeeze,
coupling, split, priors, bits/dim) come from genzoo.core.flows; the two layers only Glow
uses are defined here.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from genzoo.core.distributed import all_reduce_mean
from genzoo.core.flows import (
    AffineCoupling,
    FactorOut,
    FlowModel,
    FlowSequence,
    GaussianPrior,
    MultiScaleFlow,
    Squeeze,
)
from genzoo.core.phases import Optim, Phase

from .config import GlowConfig, GlowSampleOptions


class ActNorm(nn.Module):
    """Per-channel affine y = (x + bias) * exp(log_scale), initialised from the first batch so
    that y has zero mean and unit variance per channel (a batch norm without batch statistics
    afterwards, so it works with batch size 1 and is exactly invertible).

    ``initialized`` is a saved buffer: a model loaded from a checkpoint or a pretrained folder
    keeps its learned values instead of re-initialising on its next training batch.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.log_scale = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.register_buffer("initialized", torch.tensor(False))

    @torch.no_grad()
    def _initialize(self, x: torch.Tensor) -> None:
        # the global batch's statistics under torchrun, so that every rank starts from the same values
        mean = all_reduce_mean(x.mean(dim=(0, 2, 3), keepdim=True))
        std = all_reduce_mean((x - mean).pow(2).mean(dim=(0, 2, 3), keepdim=True)).sqrt()
        self.bias.copy_(-mean)
        self.log_scale.copy_(-torch.log(std + 1e-6))
        self.initialized.fill_(True)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.training and not self.initialized:
            self._initialize(x)
        logdet = x.shape[2] * x.shape[3] * self.log_scale.sum()
        return (x + self.bias) * torch.exp(self.log_scale), logdet.expand(x.shape[0])

    def inverse(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logdet = y.shape[2] * y.shape[3] * self.log_scale.sum()
        return y * torch.exp(-self.log_scale) - self.bias, -logdet.expand(y.shape[0])


class InvConv1x1(nn.Module):
    """A learned channel mixing W (a generalised permutation), stored LU-decomposed:
    W = P L (U + diag(sign * exp(log_s))), so log|det W| = sum(log_s) costs O(C), not O(C^3).
    P and the signs stay fixed; W starts as a random rotation."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        w = torch.linalg.qr(torch.randn(channels, channels))[0]
        p, lower, upper = torch.linalg.lu(w)
        s = torch.diagonal(upper)
        self.register_buffer("perm", p)
        self.register_buffer("sign_s", torch.sign(s))
        self.register_buffer("lower_mask", torch.tril(torch.ones(channels, channels), -1))
        self.lower = nn.Parameter(lower)
        self.upper = nn.Parameter(torch.triu(upper, 1))
        self.log_s = nn.Parameter(torch.log(s.abs()))

    def weight(self) -> torch.Tensor:
        eye = torch.eye(self.lower.shape[0], device=self.lower.device, dtype=self.lower.dtype)
        lower = self.lower * self.lower_mask + eye
        upper = self.upper * self.lower_mask.T + torch.diag(self.sign_s * torch.exp(self.log_s))
        return self.perm @ lower @ upper

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        w = self.weight()
        logdet = x.shape[2] * x.shape[3] * self.log_s.sum()
        return F.conv2d(x, w[:, :, None, None]), logdet.expand(x.shape[0])

    def inverse(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        w_inv = torch.linalg.inv(self.weight().double()).to(y.dtype)
        logdet = y.shape[2] * y.shape[3] * self.log_s.sum()
        return F.conv2d(y, w_inv[:, :, None, None]), -logdet.expand(y.shape[0])


class ZeroConv2d(nn.Module):
    """3x3 conv starting at exactly zero, its output scaled by exp(3 * logs) (learned): the last
    layer of every coupling network and split prior, so each step starts as the identity."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)
        nn.init.zeros_(self.conv.weight)
        nn.init.zeros_(self.conv.bias)
        self.logs = nn.Parameter(torch.zeros(1, cout, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) * torch.exp(3 * self.logs)


def coupling_net(cin: int, cout: int, hidden: int) -> nn.Module:
    """The paper's NN(): 3x3 conv, ReLU, 1x1 conv, ReLU, zero-initialised 3x3 conv."""
    return nn.Sequential(nn.Conv2d(cin, hidden, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(hidden, hidden, 1), nn.ReLU(), ZeroConv2d(hidden, cout))


def flow_step(channels: int, hidden: int) -> FlowSequence:
    """One step of flow: actnorm -> invertible 1x1 conv -> affine coupling (sigmoid(s + 2) scale).
    The 1x1 conv replaces RealNVP's fixed channel reversal, so the coupling never needs to flip."""
    half = channels // 2
    return FlowSequence([
        ActNorm(channels),
        InvConv1x1(channels),
        AffineCoupling(coupling_net(half, 2 * (channels - half), hidden), channels, scale="sigmoid"),
    ])


class Center(nn.Module):
    """[0, 1) -> [-0.5, 0.5): a shift, so its log-det is 0."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x - 0.5, x.new_zeros(x.shape[0])

    def inverse(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return y + 0.5, y.new_zeros(y.shape[0])


class Glow(FlowModel):
    sample_options = GlowSampleOptions

    def __init__(self, config: GlowConfig) -> None:
        super().__init__(config)
        c = config
        channels, size = c.channels, c.image_size
        levels, splits = [], []
        for i in range(c.levels):
            channels, size = channels * 4, size // 2
            levels.append(FlowSequence([Squeeze(), *(flow_step(channels, c.hidden) for _ in range(c.steps))]))
            if i < c.levels - 1:
                half = channels // 2
                splits.append(FactorOut(prior=ZeroConv2d(half, 2 * (channels - half))))  # learned split prior
                channels = half
        self.flow = MultiScaleFlow(levels, splits, GaussianPrior((channels, size, size), learned=c.learn_top),
                                   preprocess=Center())

    def phases(self) -> list[Phase]:
        return [Phase("nll", [self.flow], self.nll, Optim(lr=self.config.lr, betas=(0.9, 0.999)))]
