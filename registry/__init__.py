"""genzoo: a plugin-based zoo of generative image models.

    import genzoo
    genzoo.list_models("dcgan*")
    model = genzoo.create_model("dcgan-mnist")
    run = genzoo.train("dcgan-mnist", data="mnist", steps=500)
    images = run.model.sample(64)

This module is the public face and nothing more: each name below lives in the subpackage
that owns it and is imported on first use (PEP 562), so ``import genzoo`` and a plugin's
``from genzoo import ModelSpec, hookimpl`` import no torch, and ``genzoo list`` stays fast.
No module inside genzoo imports this facade; they import from the owning subpackage.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from genzoo.core.version import __version__

_EXPORTS = {
    "CapabilityError": "genzoo.core.errors",
    "ConfigError": "genzoo.core.errors",
    "DataError": "genzoo.core.errors",
    "GenzooError": "genzoo.core.errors",
    "Preprocessing": "genzoo.core.preprocessing",
    "TrainConfig": "genzoo.core.recipe",
    "hookimpl": "genzoo.zoo.hookspecs",
    "ModelSpec": "genzoo.zoo.specs",
    "DatasetSpec": "genzoo.zoo.specs",
    "MetricSpec": "genzoo.zoo.specs",
    "ExtractorSpec": "genzoo.zoo.specs",
    "ImporterSpec": "genzoo.zoo.specs",
    "list_models": "genzoo.models.info",
    "create_model": "genzoo.models.build",
    "model_info": "genzoo.models.info",
    "load_data": "genzoo.sources.load",
    "train": "genzoo.training.train",
    "evaluate": "genzoo.evaluation.evaluate",
    "push": "genzoo.hub.transfer",
    "pull": "genzoo.hub.transfer",
}

__all__ = [  # = _EXPORTS and __version__, spelt out for tools that read __all__ statically
    "CapabilityError", "ConfigError", "DataError", "DatasetSpec", "ExtractorSpec", "GenzooError", "ImporterSpec",
    "MetricSpec", "ModelSpec", "Preprocessing", "TrainConfig", "__version__", "create_model", "evaluate", "hookimpl",
    "list_models", "load_data", "model_info", "pull", "push", "train",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'genzoo' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next lookup is an ordinary attribute
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # what type checkers and editors see; at run time __getattr__ does the same
    from genzoo.core.errors import CapabilityError, ConfigError, DataError, GenzooError
    from genzoo.core.preprocessing import Preprocessing
    from genzoo.core.recipe import TrainConfig
    from genzoo.evaluation.evaluate import evaluate
    from genzoo.hub.transfer import pull, push
    from genzoo.models.build import create_model
    from genzoo.models.info import list_models, model_info
    from genzoo.sources.load import load_data
    from genzoo.training.train import train
    from genzoo.zoo.hookspecs import hookimpl
    from genzoo.zoo.specs import DatasetSpec, ExtractorSpec, ImporterSpec, MetricSpec, ModelSpec
