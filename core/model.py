"""The one base class every zoo model shares, its typed metadata, and the capability protocols.

It is deliberately thin (diffusers' lesson: no deep mixin stacks). A capability is a promise
checked structurally: a model that lists "sample" is a ``Generator``, "log_prob" a
``LikelihoodModel`` and so on (``PROTOCOLS``). The base class implements none of those
methods, so a family has a method exactly when it wrote one; ``require`` and one test over
every registered model check each capability against its protocol.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import torch
from torch import nn

from .config import from_dict
from .errors import CapabilityError, ConfigError
from .phases import Phase
from .preprocessing import Preprocessing
from .pretrained import save_pretrained


@runtime_checkable
class Generator(Protocol):
    """"sample" (and "conditional", which adds ``labels``): images from noise."""

    def sample(self, n: int, *, labels: torch.Tensor | None = None,
               generator: torch.Generator | None = None, **options: Any) -> torch.Tensor:
        """n images (N, C, H, W) in [-1, 1]; ``options`` are the family's ``sample_options`` fields."""


@runtime_checkable
class LikelihoodModel(Protocol):
    """"log_prob"."""

    def log_prob(self, images: torch.Tensor) -> torch.Tensor:
        """Per-image log-likelihood, in nats, of the discrete 8-bit images behind ``images``.

        ``images`` are normalised as the model's preprocessing does for training (for
        dequantising models: already dequantised). Continuous densities include the change
        of variables back to the 256 levels, so ``-log_prob / (D * ln 2)`` is bits/dim and
        numbers compare across families. VAEs return their ELBO or an importance-weighted bound.
        """


@runtime_checkable
class Encoder(Protocol):
    """"encode"."""

    def encode(self, images: torch.Tensor) -> Any:
        """A latent code or distribution for each image."""


@runtime_checkable
class Reconstructor(Protocol):
    """"reconstruct"."""

    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        """Reconstructions of ``images``, in the model's input space."""


@runtime_checkable
class Translator(Protocol):
    """"translate"."""

    def translate(self, images: torch.Tensor, direction: str = "a2b") -> torch.Tensor:
        """Images of one domain in the other ("a2b" or "b2a")."""


PROTOCOLS: dict[str, type] = {
    "sample": Generator,
    "conditional": Generator,
    "log_prob": LikelihoodModel,
    "encode": Encoder,
    "reconstruct": Reconstructor,
    "translate": Translator,
}
"""What each capability promises; genzoo.zoo.specs.CAPABILITIES names the same set (a test checks)."""

_METHOD_CAPABILITY = {"sample": "sample", "log_prob": "log_prob", "encode": "encode", "reconstruct": "reconstruct",
                      "translate": "translate"}
"""The capability each protocol method belongs to, for the error a missing one raises."""


@dataclass
class ModelMeta:
    """Who a model is and what its inputs need; ``genzoo.create_model`` fills it in.

    ``preprocessing`` stays None for a model built straight from its class: code that needs
    it reads ``model.preprocessing``, which then says so instead of guessing a normalisation.
    """

    name: str = ""
    family: str = ""
    plugin: str = ""
    distribution: str = ""
    preprocessing: Preprocessing | None = None
    data: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()
    source: str = ""
    """Where the weights came from (a hub location or a folder); "" for a freshly built model."""
    provenance: dict[str, Any] = field(default_factory=dict)
    """How the weights were made (data, steps, seed, command, ...), as the pretrained folder records it."""


class ZooModel(nn.Module):
    """Base of every genzoo model.

    Subclasses set ``capabilities`` (what the CLI and API may ask of them), ``ema_modules``
    (names of submodules whose weights the trainer averages and samples with), optionally
    ``sample_options``, and implement ``phases()`` plus the methods their capabilities promise.
    """

    capabilities: ClassVar[frozenset[str]] = frozenset({"sample"})
    ema_modules: ClassVar[tuple[str, ...]] = ()
    sample_options: ClassVar[type | None] = None
    """A dataclass of sampling-time options (a temperature, a truncation) that ``sample(..., **options)``
    and ``genzoo sample --set`` take. They change how the model is sampled, not what it is, so they
    never enter its config, its pretrained folder or its identity."""
    likelihood_levels: int = 256
    """Values per sub-pixel that ``log_prob`` is a likelihood over: 256 for 8-bit images; a
    Bernoulli VAE on binarised pixels says 2, so its bits/dim is never ranked beside 8-bit ones."""

    def __init__(self, config: Any) -> None:
        super().__init__()
        self.config = config
        self.meta = ModelMeta()

    @property
    def family(self) -> str:
        return self.meta.family or type(self).__name__.lower()

    @property
    def preprocessing(self) -> Preprocessing:
        """How this model's inputs are normalised and resized; never a silent default."""
        if self.meta.preprocessing is None:
            raise ConfigError(
                f"this {type(self).__name__} has no preprocessing attached: build it with genzoo.create_model "
                f"(which attaches the registered one) or set model.meta.preprocessing = genzoo.Preprocessing(...)."
            )
        return self.meta.preprocessing

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def save_pretrained(self, directory: str | os.PathLike, **kwargs: Any) -> Path:
        """Write config.json + model.safetensors + README.md (see genzoo.core.pretrained)."""
        return save_pretrained(self, directory, **kwargs)

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)  # nn.Module's: parameters, buffers, submodules
        except AttributeError:
            if name in _METHOD_CAPABILITY:
                raise self._cannot(_METHOD_CAPABILITY[name]) from None  # a CapabilityError is an AttributeError
            raise

    def _cannot(self, capability: str) -> CapabilityError:
        have = ", ".join(sorted(self.capabilities))
        if capability in self.capabilities:  # a family bug, not a user's: the test over every model catches it
            return CapabilityError(f"{self.family} lists {capability} but does not implement its protocol.")
        return CapabilityError(f"{self.family} has no {capability} (it can: {have}).")

    def require(self, capability: str) -> None:
        """Refuse, in one line, what this model cannot do."""
        protocol = PROTOCOLS.get(capability)
        if capability not in self.capabilities or protocol is None or not isinstance(self, protocol):
            raise self._cannot(capability)

    def sampling(self, options: dict[str, Any]) -> Any:
        """``options`` as the family's typed ``sample_options`` (validated; defaults filled in)."""
        if self.sample_options is None:
            if options:
                raise ConfigError(f"{self.family} takes no sampling options (got {', '.join(sorted(options))}).")
            return None
        return from_dict(self.sample_options, options, where=f"{self.family} sampling options")

    def phases(self) -> list[Phase]:
        raise NotImplementedError(f"{type(self).__name__} does not declare training phases")

    def anomaly_score(self, images: torch.Tensor) -> torch.Tensor:
        """Per-image score, higher = more anomalous: -log_prob where the model has one, else the
        reconstruction error. Families with a better-suited score override this."""
        if "log_prob" in self.capabilities:
            return -self.log_prob(images)
        if "reconstruct" in self.capabilities:
            return (self.reconstruct(images) - images).flatten(1).pow(2).mean(1)
        raise CapabilityError(f"{self.family} has neither log_prob nor reconstruct, so it cannot score images.")
