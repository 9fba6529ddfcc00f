"""RealNVP (Dinh, Sohl-Dickstein & Bengio, 2017): a stack of affine coupling layers.

Pixels are dequantised to [0, 1) by the data pipeline, then logit-transformed. Each scale
but the last runs ``couplings`` checkerboard couplings, squeezes 2x2 patches into channels,
runs ``couplings`` channel couplings and factors half the channels out to a standard
Gaussian; the last scale runs ``couplings + 1`` checkerboard couplings. The masks
alternate so every dimension is transformed. s and t come from small ResNets whose last
convolution starts at zero, so the untrained flow is the identity after the logit.
Training minimises the exact negative log-likelihood in bits/dim (genzoo.core.flows).
Not included from the paper: batch normalisation as a flow layer and weight normalisation.
"""

from __future__ import annotations

from torch import nn

from genzoo.core.flows import (
    AffineCoupling,
    FactorOut,
    FlowModel,
    FlowSequence,
    GaussianPrior,
    LogitTransform,
    MultiScaleFlow,
    Squeeze,
    checkerboard_mask,
)
from genzoo.core.phases import Optim, Phase

from .config import RealNVPConfig, RealNVPSampleOptions


def conv3x3(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, padding=1)


class ResidualBlock(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.ReLU(), conv3x3(width, width), nn.ReLU(), conv3x3(width, width))

    def forward(self, x):
        return x + self.body(x)


class ResNet(nn.Module):
    """The s/t network of one coupling layer: conv, residual blocks, zero-initialised output conv."""

    def __init__(self, cin: int, cout: int, hidden: int, n_blocks: int) -> None:
        super().__init__()
        self.out = conv3x3(hidden, cout)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        self.net = nn.Sequential(conv3x3(cin, hidden), *(ResidualBlock(hidden) for _ in range(n_blocks)),
                                 nn.ReLU(), self.out)

    def forward(self, x):
        return self.net(x)


def checkerboard_couplings(c: RealNVPConfig, channels: int, size: int, count: int) -> list[AffineCoupling]:
    """Couplings that transform alternate pixels (all channels at once), flipping the mask each time."""
    return [
        AffineCoupling(ResNet(channels, 2 * channels, c.hidden, c.n_blocks), channels,
                       mask=checkerboard_mask(size, flip=i % 2 == 1), scale="tanh")
        for i in range(count)
    ]


def channel_couplings(c: RealNVPConfig, channels: int, count: int) -> list[AffineCoupling]:
    """Couplings that transform half the channels given the other half, alternating halves."""
    half = channels // 2
    return [
        AffineCoupling(ResNet(half, 2 * (channels - half), c.hidden, c.n_blocks), channels,
                       flip=i % 2 == 1, scale="tanh")
        for i in range(count)
    ]


class RealNVP(FlowModel):
    sample_options = RealNVPSampleOptions

    def __init__(self, config: RealNVPConfig) -> None:
        super().__init__(config)
        c = config
        channels, size = c.channels, c.image_size
        levels, splits = [], []
        for _ in range(c.n_scales - 1):
            levels.append(FlowSequence([
                *checkerboard_couplings(c, channels, size, c.couplings),
                Squeeze(),
                *channel_couplings(c, 4 * channels, c.couplings),
            ]))
            splits.append(FactorOut(prior=None))  # standard Gaussian for the factored-out half
            channels, size = 2 * channels, size // 2
        levels.append(FlowSequence(checkerboard_couplings(c, channels, size, c.couplings + 1)))
        self.flow = MultiScaleFlow(levels, splits, GaussianPrior((channels, size, size)),
                                   preprocess=LogitTransform(c.alpha))

    def phases(self) -> list[Phase]:
        c = self.config
        return [Phase("nll", [self.flow], self.nll,
                      Optim(lr=c.lr, betas=(0.9, 0.999), weight_decay=c.weight_decay))]
