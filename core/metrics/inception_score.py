"""Inception Score (Salimans et al. 2016) from any classifier's logits: exp E_x KL(p(y|x) || p(y)).

With Inception-v3 logits it is the classic IS; with a zoo evaluator's logits (LeNet on
MNIST: at most 10, the number of classes) it is the same quantity for that classifier, and
the protocol says which. Samples are shuffled with a seeded permutation and scored in
``splits`` chunks, as torch-fidelity does, so equal seeds give equal numbers.
"""

from __future__ import annotations

import numpy as np
import torch


def inception_score(logits: torch.Tensor, *, splits: int = 10, seed: int = 2020,
                    shuffle: bool = True) -> dict[str, float]:
    """{"is": mean over splits, "is_std": their standard deviation}."""
    if logits.dim() != 2 or logits.shape[0] < splits:
        raise ValueError(f"inception_score needs (N >= splits={splits}, classes) logits, got {tuple(logits.shape)}")
    n = logits.shape[0]
    if shuffle:
        logits = logits[torch.as_tensor(np.random.RandomState(seed).permutation(n))]
    log_p = logits.double().log_softmax(1)
    scores = []
    for i in range(splits):
        chunk = log_p[i * n // splits:(i + 1) * n // splits]
        log_q = chunk.exp().mean(0).log()
        kl = (chunk.exp() * (chunk - log_q)).sum(1).mean()
        scores.append(kl.exp().item())
    return {"is": float(np.mean(scores)), "is_std": float(np.std(scores))}
