"""Regularisers of a critic's gradient, shared by every family that trains a Lipschitz critic.

WGAN-GP (Gulrajani et al. 2017) replaces weight clipping by a soft constraint: the critic's
gradient norm should be 1 on points between the data and the generator's distribution,
where the optimal critic has unit gradient almost everywhere. The penalty is returned
unweighted; the family multiplies it by its lambda, so the logged term is comparable
across settings.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from . import batch_random


def interpolates(real: torch.Tensor, fake: torch.Tensor,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Points on straight lines between paired real and fake images, one uniform mix per image."""
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    eps = batch_random.rand(*shape, device=real.device, dtype=real.dtype, generator=generator)
    return torch.lerp(fake.detach(), real.detach(), eps)


def gradient_penalty(
    critic: Callable[..., torch.Tensor],
    real: torch.Tensor,
    fake: torch.Tensor,
    labels: torch.Tensor | None = None,
    *,
    target: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """E[(||grad_x critic(x_hat)||_2 - target)^2] over random interpolates x_hat of real and fake.

    ``create_graph=True`` keeps the penalty differentiable w.r.t. the critic's weights (the
    double back-propagation WGAN-GP needs). ``labels`` are passed through to conditional
    critics; ``generator`` makes the mixing weights reproducible.
    """
    x = interpolates(real, fake, generator).requires_grad_(True)
    out = critic(x) if labels is None else critic(x, labels)
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return (grad.flatten(1).norm(2, dim=1) - target).pow(2).mean()
