"""The one base class every zoo model shares: config, capabilities, phases, EMA modules.

It is deliberately thin (diffusers' lesson: no deep mixin stacks). Protocols for the
roles inside a model (Generator, Discriminator, Encoder) are structural, so a family's
networks are plain nn.Modules that happen to have the right methods.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import torch
from torch import nn

from .errors import CapabilityError
from .phases import Phase


@runtime_checkable
class Generator(Protocol):
    def sample(self, n: int, *, labels: torch.Tensor | None = None,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """n images (N, C, H, W) in [-1, 1]."""


@runtime_checkable
class Discriminator(Protocol):
    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (or critic values), one per image."""


@runtime_checkable
class Encoder(Protocol):
    def encode(self, images: torch.Tensor) -> Any:
        """A latent code or distribution for each image."""


class ZooModel(nn.Module):
    """Base of every genzoo model.

    Subclasses set ``capabilities`` (what the CLI and API may ask of them), ``ema_modules``
    (names of submodules whose weights the trainer averages and samples with) and implement
    ``phases()`` plus the methods their capabilities promise.
    """

    capabilities: ClassVar[frozenset[str]] = frozenset({"sample"})
    ema_modules: ClassVar[tuple[str, ...]] = ()
    likelihood_levels: int = 256
    """Values per sub-pixel that ``log_prob`` is a likelihood over: 256 for 8-bit images; a
    Bernoulli VAE on binarised pixels says 2, so its bits/dim is never ranked beside 8-bit ones."""

    def __init__(self, config: Any) -> None:
        super().__init__()
        self.config = config
        # Filled in by the registry: name, family, plugin, distribution, preprocessing.
        self.meta: dict[str, Any] = {}

    @property
    def family(self) -> str:
        return self.meta.get("family", type(self).__name__.lower())

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def save_pretrained(self, directory: str | os.PathLike, **kwargs: Any) -> Path:
        """Write config.json + model.safetensors + README.md (see genzoo.core.pretrained)."""
        from .pretrained import save_pretrained

        return save_pretrained(self, directory, **kwargs)

    def require(self, capability: str) -> None:
        if capability not in self.capabilities:
            have = ", ".join(sorted(self.capabilities))
            raise CapabilityError(f"{self.family} has no {capability} (it can: {have}).")

    def phases(self) -> list[Phase]:
        raise NotImplementedError(f"{type(self).__name__} does not declare training phases")

    def sample(self, n: int, *, labels: torch.Tensor | None = None,
               generator: torch.Generator | None = None) -> torch.Tensor:
        self.require("sample")
        raise NotImplementedError

    def log_prob(self, images: torch.Tensor) -> torch.Tensor:
        """Per-image log-likelihood, in nats, of the discrete 8-bit images behind ``images``.

        ``images`` are normalised as the model's preprocessing does for training (for
        dequantising models: already dequantised). Continuous densities include the change
        of variables back to the 256 levels, so ``-log_prob / (D * ln 2)`` is bits/dim and
        numbers compare across families. VAEs return their ELBO or an importance-weighted bound.
        """
        self.require("log_prob")
        raise NotImplementedError

    def anomaly_score(self, images: torch.Tensor) -> torch.Tensor:
        """Per-image score, higher = more anomalous: -log_prob where the model has one, else the
        reconstruction error. Families with a better-suited score override this."""
        if "log_prob" in self.capabilities:
            return -self.log_prob(images)
        if "reconstruct" in self.capabilities:
            return (self.reconstruct(images) - images).flatten(1).pow(2).mean(1)
        raise CapabilityError(f"{self.family} has neither log_prob nor reconstruct, so it cannot score images.")

    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        self.require("reconstruct")
        raise NotImplementedError

    def translate(self, images: torch.Tensor, direction: str = "a2b") -> torch.Tensor:
        self.require("translate")
        raise NotImplementedError
