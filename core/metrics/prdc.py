"""k-NN manifold metrics: precision/recall (Kynkäänniemi et al. 2019) and density/coverage (Naeem et al. 2020).

Each sample's k-NN ball (radius = distance to its k-th nearest neighbour in its own set)
approximates the support of its distribution. Precision asks how many fakes fall in the
real support, recall how many reals fall in the fake support. Density counts how many real
balls hold each fake (robust to real outliers inflating precision) and coverage asks how
many real balls hold at least one fake (robust to fake outliers inflating recall).
"""

from __future__ import annotations

import torch

from .pairwise import PairwiseRequest, pairwise_metrics

PR_K = 3  # Kynkäänniemi et al.'s choice; torch-fidelity's default
DC_K = 5  # Naeem et al.'s recommended k


def precision_recall(real: torch.Tensor, fake: torch.Tensor, *, k: int = PR_K) -> dict[str, float]:
    """{"precision", "recall", "f1"}."""
    return pairwise_metrics(real, fake, PairwiseRequest(pr_k=k)).values


def density_coverage(real: torch.Tensor, fake: torch.Tensor, *, k: int = DC_K) -> dict[str, float]:
    """{"density", "coverage"}."""
    return pairwise_metrics(real, fake, PairwiseRequest(dc_k=k)).values
