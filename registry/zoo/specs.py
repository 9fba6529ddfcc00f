"""What plugins register: metadata plus lazy "module:attr" references, never live objects.

Keeping registration to strings and plain dataclasses is what lets ``genzoo list`` and
``genzoo info`` run without importing torch or any model code; the referenced module is
imported only when a model is built, a dataset loaded or a metric computed.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from genzoo.core.errors import GenzooError
from genzoo.core.preprocessing import Preprocessing

CAPABILITIES = ("sample", "conditional", "log_prob", "reconstruct", "encode", "translate")


def resolve(ref: str, what: str) -> Any:
    """Import the object behind a "package.module:attr" reference.

    ``what`` says whose reference it is (for a model: its name, plugin and distribution), so that a
    plugin whose module fails to import is named in the one-line error the user sees.
    """
    module_name, sep, attr = ref.partition(":")
    if not sep:
        raise GenzooError(f"{what}: reference {ref!r} must look like 'package.module:attr'.")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise GenzooError(f"{what}: cannot import {module_name!r} ({exc}).") from exc
    except Exception as exc:  # the module itself raised while importing: a plugin bug, reported as one
        raise GenzooError(f"{what}: importing {module_name!r} failed ({type(exc).__name__}: {exc}).") from exc
    try:
        return getattr(module, attr)
    except AttributeError:
        raise GenzooError(f"{what}: module {module_name!r} has no attribute {attr!r}.") from None


@dataclass(frozen=True)
class ModelSpec:
    """A model as a plugin registers it.

    ``config`` names the family's config dataclass and ``builder`` a callable taking that
    config and returning the model (usually the model class itself); ``capabilities`` repeats
    the class's own (so listing needs no torch; a test checks they agree); ``sample_options``
    names the dataclass of sampling-time options, when the family has one; ``defaults``
    overrides the config's field defaults for this name (so one family can register several
    named variants), ``recipe`` overrides the trainer's defaults, and ``data`` is the source
    used when ``genzoo train`` gets no --data.
    """

    name: str
    family: str
    config: str
    builder: str
    capabilities: tuple[str, ...] = ("sample",)
    sample_options: str = ""
    preprocessing: Preprocessing = field(default_factory=Preprocessing)
    defaults: dict[str, Any] = field(default_factory=dict)
    recipe: dict[str, Any] = field(default_factory=dict)
    data: str = "mnist"
    description: str = ""
    tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = set(self.capabilities) - set(CAPABILITIES)
        if unknown:
            raise GenzooError(
                f"model {self.name!r}: unknown capabilities {sorted(unknown)}; known: {', '.join(CAPABILITIES)}."
            )


@dataclass(frozen=True)
class DatasetSpec:
    """A named data source: ``loader`` is "module:func(root, split, ...) -> ImageSet"."""

    name: str
    loader: str
    description: str = ""
    image_size: int = 0
    channels: int = 0
    classes: int = 0


@dataclass(frozen=True)
class MetricSpec:
    """An evaluation metric: ``compute`` is a "module:func" reference."""

    name: str
    compute: str
    description: str = ""
    higher_is_better: bool = False


@dataclass(frozen=True)
class ImporterSpec:
    """A checkpoint format ``genzoo import NAME FILE`` converts into a zoo model.

    ``converter`` is a "module:func" reference to ``func(state, source) -> genzoo.core.importing.Imported``,
    where ``state`` is what the file held (loaded without unpickling: torch.load(weights_only=True) or
    safetensors) and ``source`` its path; it names the registered model, its config and the tensors
    keyed as in that model's state dict, or raises a GenzooError naming the first offending keys.
    ``upstream`` is the project whose checkpoints these are; ``pickle_hint`` tells a user holding a
    pickle (which genzoo never loads) how to get a loadable file instead.
    """

    name: str
    converter: str
    description: str = ""
    upstream: str = ""
    pickle_hint: str = ""


@dataclass(frozen=True)
class ExtractorSpec:
    """A feature extractor for metrics: ``builder`` is a "module:func" reference."""

    name: str
    builder: str
    description: str = ""
