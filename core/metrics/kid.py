"""Kernel Inception Distance (Bińkowski et al. 2018): unbiased MMD^2 with the kernel (x.y/d + 1)^3.

The estimate is averaged over random subsets of both sets; the subset size, count and seed
are part of the protocol because they change the value's variance and (slightly) its mean.
Subsets are drawn as torch-fidelity draws them, so equal seeds give equal numbers.
"""

from __future__ import annotations

import torch

from .pairwise import PairwiseRequest, pairwise_metrics

DEFAULT_SUBSETS = 100
DEFAULT_SUBSET_SIZE = 1000


def kid(real: torch.Tensor, fake: torch.Tensor, *, subsets: int = DEFAULT_SUBSETS,
        subset_size: int = DEFAULT_SUBSET_SIZE, seed: int = 2020, degree: int = 3,
        coef0: float = 1.0) -> dict[str, float]:
    """{"kid": mean over subsets, "kid_std": their standard deviation}."""
    req = PairwiseRequest(kid_subsets=subsets, kid_subset_size=subset_size, seed=seed, kid_degree=degree,
                          kid_coef0=coef0)
    return pairwise_metrics(real, fake, req).values
