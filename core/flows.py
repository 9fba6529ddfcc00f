"""Building blocks of normalizing flows shared by RealNVP and Glow.

A flow maps an image x to a latent z through invertible steps; the log-likelihood is
exact by the change of variables:  log p(x) = log p(z) + sum_k log|det dh_k/dh_{k-1}|.
Every step here follows one protocol (``FlowStep``): ``forward(x) -> (y, logdet)`` and
``inverse(y) -> (x, logdet)``, where ``logdet`` is one number per image and the inverse's is
the negative of the forward's. The multi-scale wrapper factors half the dimensions out
after each level (Dinh et al. 2017), scoring them under a prior that is either a standard
Gaussian (RealNVP) or a Gaussian conditioned on the kept half (Glow's split priors).

Likelihood bookkeeping follows genzoo.core.model: inputs are dequantised images
x = (k + u) / 256 in [0, 1), so the density of x (with the logit and every other step's
log-det) minus D*log(256) is the log-probability, in nats, of the discrete 8-bit image k
(a lower bound in expectation over u). ``bits_per_dim`` turns that into the usual figure.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import torch
import torch.nn.functional as F
from torch import nn

from .model import ZooModel
from .phases import Batch, Losses

LOG_2PI = math.log(2 * math.pi)
LEVELS = 256


# -- the step protocol and its composition ----------------------------------------------------


@runtime_checkable
class FlowStep(Protocol):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x -> (y, log|det dy/dx|) with one log-det per image, shape (N,)."""

    def inverse(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """y -> (x, log|det dx/dy|): the exact inverse of ``forward``."""


def per_image(t: torch.Tensor) -> torch.Tensor:
    """Sum of everything but the batch axis: elementwise log-terms -> one number per image."""
    return t.flatten(1).sum(1)


class FlowSequence(nn.Module):
    """Steps applied in order (forward) or reverse order (inverse), log-dets summed."""

    def __init__(self, steps: Sequence[nn.Module]) -> None:
        super().__init__()
        self.steps = nn.ModuleList(steps)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        total = x.new_zeros(x.shape[0])
        for step in self.steps:
            x, logdet = step(x)
            total = total + logdet
        return x, total

    def inverse(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        total = y.new_zeros(y.shape[0])
        for step in reversed(self.steps):
            y, logdet = step.inverse(y)
            total = total + logdet
        return y, total


# -- reshaping ------------------------------------------------------------------------------


def squeeze(x: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N, 4C, H/2, W/2): each 2x2 patch becomes 4 channels, so coupling
    layers at the next scale see more context per position and can split by channel."""
    n, c, h, w = x.shape
    x = x.view(n, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4)
    return x.reshape(n, c * 4, h // 2, w // 2)


def unsqueeze(x: torch.Tensor) -> torch.Tensor:
    """Inverse of ``squeeze``."""
    n, c, h, w = x.shape
    x = x.view(n, c // 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3)
    return x.reshape(n, c // 4, h * 2, w * 2)


class Squeeze(nn.Module):
    """``squeeze`` as a flow step: a permutation of the dimensions, so its log-det is 0."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return squeeze(x), x.new_zeros(x.shape[0])

    def inverse(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return unsqueeze(y), y.new_zeros(y.shape[0])


# -- from pixels to an unbounded space ---------------------------------------------------------


def logit_transform(x: torch.Tensor, alpha: float) -> tuple[torch.Tensor, torch.Tensor]:
    """x in [0, 1] -> y = logit(alpha + (1 - 2 alpha) x), and log|dy/dx| per image.

    A Gaussian latent has unbounded support while pixels live in [0, 1]; the logit opens
    the interval up, and ``alpha`` keeps it away from 0 and 1 where the logit explodes
    (RealNVP uses 0.05). dy/dx = (1 - 2 alpha) / (p (1 - p)) with p = alpha + (1 - 2 alpha) x.
    """
    p = alpha + (1 - 2 * alpha) * x
    y = torch.log(p) - torch.log1p(-p)
    logdet = per_image(math.log(1 - 2 * alpha) - torch.log(p) - torch.log1p(-p))
    return y, logdet


def inverse_logit_transform(y: torch.Tensor, alpha: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Inverse of ``logit_transform``: y -> x in [0, 1], and log|dx/dy| per image."""
    p = torch.sigmoid(y)
    x = (p - alpha) / (1 - 2 * alpha)
    logdet = per_image(F.logsigmoid(y) + F.logsigmoid(-y) - math.log(1 - 2 * alpha))
    return x, logdet


class LogitTransform(nn.Module):
    """``logit_transform`` as a flow step (no parameters)."""

    def __init__(self, alpha: float = 0.05) -> None:
        super().__init__()
        self.alpha = alpha

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return logit_transform(x, self.alpha)

    def inverse(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return inverse_logit_transform(y, self.alpha)


def discrete_log_prob(log_density: torch.Tensor, num_dims: int) -> torch.Tensor:
    """Density of dequantised x = (k + u) / 256 in [0, 1)^D -> log-probability of the 8-bit k.

    Each of the 256^D bins has volume 256^-D, so P(k) ~= p(x) 256^-D (exactly a lower bound
    in expectation over the uniform noise u, by Jensen).
    """
    return log_density - num_dims * math.log(LEVELS)


def bits_per_dim(log_prob: torch.Tensor, num_dims: int) -> torch.Tensor:
    """Per-image log-probability in nats -> negative log-likelihood in bits per dimension."""
    return -log_prob / (num_dims * math.log(2))


# -- densities --------------------------------------------------------------------------------


def gaussian_log_density(x: torch.Tensor, mean: torch.Tensor | None = None,
                         log_std: torch.Tensor | None = None) -> torch.Tensor:
    """Elementwise log N(x; mean, exp(log_std)^2); the standard normal when both are None."""
    if mean is None:
        return -0.5 * (LOG_2PI + x * x)
    z = (x - mean) * torch.exp(-log_std)
    return -0.5 * (LOG_2PI + z * z) - log_std


def gaussian_sample(mean: torch.Tensor, log_std: torch.Tensor, temperature: float,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """mean + temperature * std * eps: a temperature below 1 trades diversity for cleaner samples
    (Kingma & Dhariwal 2018, section 5)."""
    eps = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
    return mean + temperature * torch.exp(log_std) * eps


# -- the affine coupling layer ---------------------------------------------------------------


def checkerboard_mask(size: int, flip: bool = False) -> torch.Tensor:
    """(1, 1, size, size) with ones where (row + col) is even (odd when ``flip``)."""
    idx = torch.arange(size)
    mask = ((idx.view(-1, 1) + idx.view(1, -1)) % 2 == int(flip)).float()
    return mask.view(1, 1, size, size)


class AffineCoupling(nn.Module):
    """y_b = x_b * exp(log_s) + t with (log_s, t) = net(x_a); x_a passes through unchanged.

    The Jacobian is triangular, so log|det| = sum(log_s): cheap, and the inverse needs no
    inversion of ``net``, which may therefore be any network. Two ways to split x:

    - a spatial ``mask`` (RealNVP's checkerboard): x_a = mask * x is fed to ``net`` (all
      channels, zeros where masked) and only positions where mask == 0 are transformed;
    - no mask: split by channels; ``net`` sees the first half (second when ``flip``) and
      outputs log_s and t for the other half.

    ``net`` returns 2 * C_b channels: raw scale then shift. ``scale`` bounds log_s:
    "tanh" (RealNVP): log_s = w * tanh(raw) with a learned per-channel w;
    "sigmoid" (Glow): s = sigmoid(raw + 2), which starts near 1 and cannot blow up.
    """

    def __init__(self, net: nn.Module, channels: int, *, mask: torch.Tensor | None = None,
                 flip: bool = False, scale: str = "tanh") -> None:
        super().__init__()
        if scale not in ("tanh", "sigmoid"):
            raise ValueError(f"AffineCoupling scale must be 'tanh' or 'sigmoid'; got {scale!r}")
        self.net, self.flip, self.scale = net, flip, scale
        self.register_buffer("mask", mask if mask is None else mask.float(), persistent=False)
        out = channels if mask is not None else channels - channels // 2
        self.tanh_scale = nn.Parameter(torch.ones(1, out, 1, 1)) if scale == "tanh" else None

    def _split(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        half = x.shape[1] // 2
        a, b = x[:, :half], x[:, half:]
        return (b, a) if self.flip else (a, b)

    def _join(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.cat((b, a) if self.flip else (a, b), 1)

    def _params(self, cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raw, shift = self.net(cond).chunk(2, 1)
        if self.scale == "tanh":
            log_s = self.tanh_scale * torch.tanh(raw)
        else:
            log_s = F.logsigmoid(raw + 2.0)
        if self.mask is not None:
            free = 1.0 - self.mask
            log_s, shift = log_s * free, shift * free
        return log_s, shift

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.mask is not None:
            log_s, shift = self._params(x * self.mask)
            return x * torch.exp(log_s) + shift, per_image(log_s)
        a, b = self._split(x)
        log_s, shift = self._params(a)
        return self._join(a, b * torch.exp(log_s) + shift), per_image(log_s)

    def inverse(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.mask is not None:
            log_s, shift = self._params(y * self.mask)  # masked positions are unchanged by forward
            return (y - shift) * torch.exp(-log_s), -per_image(log_s)
        a, b = self._split(y)
        log_s, shift = self._params(a)
        return self._join(a, (b - shift) * torch.exp(-log_s)), -per_image(log_s)


# -- multi-scale: factoring dimensions out -----------------------------------------------------


class FactorOut(nn.Module):
    """Keep the first half of the channels for the next level and score the second half.

    With ``prior=None`` the factored-out half is scored under a standard Gaussian (RealNVP);
    otherwise ``prior(kept)`` returns 2 * C_out channels, the mean and log-std of a Gaussian
    conditioned on the kept half (Glow's learned split prior). Not a bijection on its own:
    it turns part of the tensor into latent z plus its log-density.
    """

    def __init__(self, prior: nn.Module | None = None) -> None:
        super().__init__()
        self.prior = prior

    def _gaussian(self, kept: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.prior is None:
            zeros = torch.zeros_like(kept)
            return zeros, zeros
        return self.prior(kept).chunk(2, 1)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """h -> (kept, z, log p(z | kept) per image)."""
        kept, z = h.chunk(2, 1)
        mean, log_std = self._gaussian(kept)
        return kept, z, per_image(gaussian_log_density(z, mean, log_std))

    def inverse(self, kept: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return torch.cat((kept, z), 1)

    def sample(self, kept: torch.Tensor, temperature: float,
               generator: torch.Generator | None) -> torch.Tensor:
        mean, log_std = self._gaussian(kept)
        return gaussian_sample(mean, log_std, temperature, generator)


class GaussianPrior(nn.Module):
    """The density of the last level's output: a standard Gaussian, or (``learned``) one with a
    mean and log-std per dimension, both starting at 0 (Glow's "learntop")."""

    def __init__(self, shape: tuple[int, int, int], learned: bool = False) -> None:
        super().__init__()
        self.shape = tuple(shape)
        self.learned = learned
        if learned:
            self.mean = nn.Parameter(torch.zeros(1, *shape))
            self.log_std = nn.Parameter(torch.zeros(1, *shape))

    def _params(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.learned:
            return self.mean.expand_as(like), self.log_std.expand_as(like)
        zeros = torch.zeros_like(like)
        return zeros, zeros

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        mean, log_std = self._params(z)
        return per_image(gaussian_log_density(z, mean, log_std))

    def sample(self, n: int, temperature: float, generator: torch.Generator | None,
               device: torch.device) -> torch.Tensor:
        like = torch.empty(n, *self.shape, device=device)
        mean, log_std = self._params(like)
        return gaussian_sample(mean, log_std, temperature, generator)


class MultiScaleFlow(nn.Module):
    """levels[0], split 0, levels[1], split 1, ..., levels[-1], then the top prior.

    ``levels`` are FlowSequences (their own squeezes included); ``splits`` has one FactorOut
    per level but the last. The latent of an image is every factored-out z plus the top
    output, flattened and concatenated in that order (``encode``/``decode``).
    """

    def __init__(self, levels: Sequence[nn.Module], splits: Sequence[nn.Module], prior: GaussianPrior,
                 preprocess: nn.Module | None = None) -> None:
        super().__init__()
        if len(splits) != len(levels) - 1:
            raise ValueError(f"MultiScaleFlow needs len(levels) - 1 splits; got {len(levels)}, {len(splits)}")
        self.preprocess = preprocess
        self.levels = nn.ModuleList(levels)
        self.splits = nn.ModuleList(splits)
        self.prior = prior

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """x -> (latents, log-density of x per image) in the flow's continuous input space."""
        logp = x.new_zeros(x.shape[0])
        h = x
        if self.preprocess is not None:
            h, logdet = self.preprocess(h)
            logp = logp + logdet
        zs = []
        for i, level in enumerate(self.levels):
            h, logdet = level(h)
            logp = logp + logdet
            if i < len(self.splits):
                h, z, log_pz = self.splits[i](h)
                zs.append(z)
                logp = logp + log_pz
        zs.append(h)
        return zs, logp + self.prior.log_prob(h)

    def _run_inverse(self, h: torch.Tensor,
                     next_z: Callable[[int, torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """Top output h -> image; ``next_z(i, kept)`` supplies the latent factored out at split i."""
        for i in reversed(range(len(self.levels))):
            if i < len(self.splits):
                h = self.splits[i].inverse(h, next_z(i, h))
            h, _ = self.levels[i].inverse(h)
        if self.preprocess is not None:
            h, _ = self.preprocess.inverse(h)
        return h

    def inverse(self, zs: Sequence[torch.Tensor]) -> torch.Tensor:
        return self._run_inverse(zs[-1], lambda i, kept: zs[i])

    def sample(self, n: int, temperature: float = 1.0, generator: torch.Generator | None = None,
               device: torch.device | None = None) -> torch.Tensor:
        device = device or next(self.parameters()).device
        top = self.prior.sample(n, temperature, generator, device)
        return self._run_inverse(top, lambda i, kept: self.splits[i].sample(kept, temperature, generator))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        zs, _ = self.forward(x)
        return torch.cat([z.flatten(1) for z in zs], 1)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Flat latents from ``encode`` -> images. Each factored-out z has the shape of the half
        kept beside it, so the shapes are recovered walking from the top down."""
        n, end = z.shape[0], z.shape[1]
        size = math.prod(self.prior.shape)
        top = z[:, end - size:].reshape(n, *self.prior.shape)
        end -= size

        def take(i: int, kept: torch.Tensor) -> torch.Tensor:
            nonlocal end
            size = kept[0].numel()
            part = z[:, end - size:end].reshape(kept.shape)
            end -= size
            return part

        return self._run_inverse(top, take)


# -- what every flow model offers ---------------------------------------------------------------


class FlowModel(ZooModel):
    """A zoo model around a MultiScaleFlow (``self.flow``) on dequantised [0, 1) images.

    A family builds ``self.flow`` and declares its phases (usually one, minimising ``nll``);
    likelihood, sampling and the latent code are the same for every flow and live here.
    The config must have ``image_size`` and ``channels``; the family's ``sample_options`` (a
    dataclass kept beside its config, so ``genzoo info`` needs no torch) must have ``temperature``.
    """

    capabilities = frozenset({"sample", "log_prob", "encode"})
    flow: MultiScaleFlow

    @property
    def num_dims(self) -> int:
        c = self.config
        return c.channels * c.image_size * c.image_size

    def log_prob(self, images: torch.Tensor) -> torch.Tensor:
        _, log_density = self.flow(images)
        return discrete_log_prob(log_density, self.num_dims)

    def nll(self, batch: Batch) -> Losses:
        """Mean negative log-likelihood in bits/dim: the training loss, and the figure papers report."""
        bpd = bits_per_dim(self.log_prob(batch.images), self.num_dims).mean()
        return {"loss": bpd, "bpd": bpd.detach()}

    def sample(self, n: int, *, labels: torch.Tensor | None = None, generator: torch.Generator | None = None,
               **options: Any) -> torch.Tensor:
        """n images in [-1, 1]; ``options`` are the family's sampling options (``temperature`` scales
        every latent's std); they change how this call samples, never the model's config."""
        opts = self.sampling(options)
        x = self.flow.sample(n, opts.temperature, generator, self.device)
        return (x * 2 - 1).clamp(-1, 1)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Dequantised images -> their latent codes, flat (N, D); ``decode`` inverts it exactly."""
        return self.flow.encode(images)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Flat latent codes -> images in the model's input space, [0, 1)."""
        return self.flow.decode(z)
