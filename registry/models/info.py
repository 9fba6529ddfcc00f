"""``genzoo.list_models`` and ``genzoo.model_info``: what the zoo registers, without importing torch."""

from __future__ import annotations

import dataclasses
from typing import Any

from genzoo.core.config import field_types, type_name
from genzoo.core.preprocessing import Preprocessing
from genzoo.core.recipe import TrainConfig

from ..zoo import get_zoo


def list_models(pattern: str | list[str] = "*", *, family: str = "", plugin: str = "") -> list[str]:
    """Registered model names matching fnmatch ``pattern`` (e.g. "dcgan*")."""
    return get_zoo().list_models(pattern, family=family, plugin=plugin)


def _fields(cls: type, values: Any, defaults: Any) -> list[dict[str, Any]]:
    hints = field_types(cls)
    return [
        {"name": f.name, "type": type_name(hints[f.name]), "default": getattr(defaults, f.name),
         "value": getattr(values, f.name), "help": f.metadata.get("help", "")}
        for f in dataclasses.fields(cls)
    ]


def model_info(name: str) -> dict[str, Any]:
    """Everything ``genzoo info`` shows, without importing torch."""
    entry = get_zoo().model(name)
    cls = entry.config_class()
    info = {
        "name": entry.name, "family": entry.family, "plugin": entry.plugin, "distribution": entry.distribution,
        "source": entry.source, "description": entry.description, "capabilities": list(entry.capabilities),
        "data": entry.data, "hub": entry.hub, "tags": list(entry.tags),
        "config": _fields(cls, entry.make_config(), cls()),
        "preprocessing": _fields(Preprocessing, entry.preprocessing, Preprocessing()),
        "train": _fields(TrainConfig, entry.make_recipe(), TrainConfig()),
    }
    options = entry.sample_options_class()
    info["sampling"] = _fields(options, options(), options()) if options is not None else []
    return info
