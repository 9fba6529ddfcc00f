"""How a model tells the shared trainer what to optimise.

A model returns a list of Phases from ``phases()``; the trainer runs them in order every
step. A GAN declares "d" then "g" (with ``repeats=n_critic`` for WGAN critics), a VAE a
single phase, CycleGAN "g" then "d". Each phase names the modules it updates, its optimiser
settings and a loss function; the trainer owns everything else (devices, precision,
clipping, EMA, NaN guard, checkpoints, logging), so a family's file holds only its maths.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn


@dataclass
class Batch:
    """One batch from the data pipeline, already normalised and augmented on the device.

    ``images_b`` carries the second domain for unpaired two-domain sources (CycleGAN).
    """

    images: torch.Tensor
    labels: torch.Tensor | None = None
    images_b: torch.Tensor | None = None

    def to(self, device: torch.device) -> Batch:
        def move(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t.to(device, non_blocking=True)

        return Batch(move(self.images), move(self.labels), move(self.images_b))

    def __len__(self) -> int:
        return self.images.shape[0]


@dataclass(frozen=True)
class Optim:
    """Optimiser settings of one phase. Defaults follow the DCGAN paper."""

    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    weight_decay: float = 0.0
    eps: float = 1e-8
    kind: Literal["adam", "adamw"] = "adam"
    lr_decay: Literal["none", "linear"] = "none"
    decay_start: float = 0.5


Losses = dict[str, torch.Tensor]
"""A phase's loss function returns named terms; "loss" is the one that is back-propagated
and every term is logged as ``<phase>.<term>``."""


@dataclass
class Phase:
    name: str
    modules: Sequence[nn.Module]
    loss: Callable[[Batch], Losses]
    optim: Optim = field(default_factory=Optim)
    repeats: int = 1
    """How many times this phase runs per step; repeats after the first draw a fresh batch."""
    every: int = 1
    """Run only on steps where ``step % every == 0`` (counting from 0): StyleGAN2's lazy R1 (every 16) and
    path-length (every 4) regularisation are phases of their own, their losses scaled by ``every``."""
    shares_optimizer: str = ""
    """The name of an earlier phase whose optimiser (and Adam moments) this phase steps; its own ``optim`` is
    then unused. A lazy regulariser shares its player's: with an optimiser of its own, Adam would rescale
    its gradient to unit size and the penalty's weight would no longer matter."""

    def __post_init__(self) -> None:
        if self.every < 1 or self.repeats < 1:
            raise ValueError(f"phase {self.name!r}: every and repeats must be at least 1 "
                             f"(got every={self.every}, repeats={self.repeats}).")

    def parameters(self) -> list[nn.Parameter]:
        seen: dict[int, nn.Parameter] = {}
        for m in self.modules:
            for p in m.parameters():
                if p.requires_grad:
                    seen.setdefault(id(p), p)
        return list(seen.values())
