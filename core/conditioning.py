"""Ways to tell a network which class it is looking at, shared by class-conditional families.

Three standard answers: concatenate a learned label embedding to the input (to z for a
generator, as constant planes beside the image channels for a discriminator); modulate
batch norm per class (conditional batch norm, de Vries et al. 2017); and the projection
discriminator (Miyato & Koyama 2018), which adds <embed(y), phi(x)> to an unconditional
logit, i.e. models log p(y|x) as a linear function of the features instead of forcing the
label through the first layer.
"""

from __future__ import annotations

import torch
from torch import nn

from .errors import GenzooError


class LabelPlanes(nn.Module):
    """Labels -> (N, dim, H, W) constant planes holding a learned embedding, to concatenate to images."""

    def __init__(self, num_classes: int, dim: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(num_classes, dim)

    def forward(self, labels: torch.Tensor, height: int, width: int) -> torch.Tensor:
        e = self.embed(labels)
        return e[:, :, None, None].expand(-1, -1, height, width)


class ConditionalBatchNorm2d(nn.Module):
    """Batch norm whose scale and shift are looked up per class (initialised to 1 and 0)."""

    def __init__(self, num_features: int, num_classes: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(num_features, affine=False)
        self.scale = nn.Embedding(num_classes, num_features)
        self.shift = nn.Embedding(num_classes, num_features)
        nn.init.ones_(self.scale.weight)
        nn.init.zeros_(self.shift.weight)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.norm(x) * self.scale(labels)[:, :, None, None] + self.shift(labels)[:, :, None, None]


class ProjectionHead(nn.Module):
    """The class term of a projection discriminator: <embed(y), phi(x)>, phi = sum-pooled features.

    Add it to the unconditional logit psi(phi(x)). Features may be (N, C, H, W) (summed over
    space, as in Miyato & Koyama) or already pooled (N, C).
    """

    def __init__(self, num_classes: int, feature_dim: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(num_classes, feature_dim)
        nn.init.normal_(self.embed.weight, 0.0, 0.02)

    @staticmethod
    def _pool(features: torch.Tensor) -> torch.Tensor:
        return features.sum(dim=(2, 3)) if features.dim() == 4 else features

    def forward(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return (self.embed(labels) * self._pool(features)).sum(dim=1)

    def class_logits(self, features: torch.Tensor) -> torch.Tensor:
        """(N, num_classes): the class term of every class, which a class loss can read as a classifier's logits."""
        return self._pool(features) @ self.embed.weight.T


def check_labels(labels: torch.Tensor, n: int, num_classes: int) -> torch.Tensor:
    """Labels as int64, shape (n,), values in [0, num_classes); else a GenzooError saying what is wrong."""
    labels = torch.as_tensor(labels)
    if labels.dim() != 1 or labels.shape[0] != n:
        raise GenzooError(f"labels must have shape ({n},); got {tuple(labels.shape)}.")
    if labels.dtype.is_floating_point or labels.dtype == torch.bool:
        raise GenzooError(f"labels must be integers; got {labels.dtype}.")
    if n and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
        lo, hi = int(labels.min()), int(labels.max())
        raise GenzooError(f"labels must lie in [0, {num_classes}); got {lo}..{hi}.")
    return labels.long()
