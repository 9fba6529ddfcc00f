"""``genzoo.create_model``: a model from a registered name, a run dir, a pretrained folder or a hub location.

Every model leaves here with its typed ``meta`` (name, family, plugin, preprocessing, where
its weights came from), so nothing downstream guesses how to normalise its inputs.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from genzoo.core.config import from_dict
from genzoo.core.errors import GenzooError
from genzoo.core.model import ModelMeta, ZooModel
from genzoo.core.preprocessing import Preprocessing
from genzoo.core.pretrained import check_weights_fit, load_weights, planned_shapes
from genzoo.core.rundir import pretrained_folder, read_config

from ..hub import is_location, pull
from ..zoo import ModelEntry, get_zoo

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
"""What ``owner/name`` looks like: the Hub's way to name a repo, which genzoo spells hf://owner/name."""


def build_model(entry: ModelEntry, config: Any, preprocessing: Preprocessing, **meta: Any) -> ZooModel:
    """The entry's builder called on ``config``, with its metadata attached (``meta``'s fields win)."""
    model = entry.builder()(config)
    model.meta = ModelMeta(**{
        "name": entry.name, "family": entry.family, "plugin": entry.plugin, "distribution": entry.distribution,
        "preprocessing": preprocessing, "data": entry.data, "description": entry.description, "tags": entry.tags,
        **meta,
    })
    return model


def _entry_for_folder(info: dict[str, Any], where: Path) -> ModelEntry:
    zoo = get_zoo()
    if info["name"] in zoo.models:
        return zoo.models[info["name"]]
    plugin, dist = info.get("plugin", "?"), info.get("distribution", "")
    family_entries = [e for e in zoo.models.values() if e.family == info.get("family") and e.plugin == plugin]
    if family_entries:
        return family_entries[0]
    hint = f" (distribution {dist!r}: `genzoo install {dist}`)" if dist else ""
    raise GenzooError(
        f"{where} was made by model {info['name']!r} of plugin {plugin!r}, which is not installed{hint}."
    )


def load_pretrained(path: Path, variant: str = "default", overrides: dict[str, Any] | None = None, *,
                    source: str = "") -> ZooModel:
    """A pretrained folder as a model in eval mode; ``source`` is recorded as where it came from."""
    info = read_config(path)
    entry = _entry_for_folder(info, path)
    config = from_dict(entry.config_class(), info["config"], where=f"{path}/config.json", saved=True)
    if overrides:
        config = from_dict(entry.config_class(), overrides, where=entry.name, base=config)
    # Folders written for a model built straight from its class carry no preprocessing: the registered one applies.
    preprocessing = (from_dict(Preprocessing, info["preprocessing"], where=f"{path}/config.json preprocessing")
                     if info.get("preprocessing") else entry.preprocessing)
    # the config's network, sized on the meta device and checked against the weights' headers before it is built
    if (shapes := planned_shapes(lambda: entry.builder()(config))) is not None:
        check_weights_fit(shapes, path, variant)
    model = build_model(entry, config, preprocessing, name=info["name"], data=info.get("data") or entry.data,
                        source=source or str(path), provenance=dict(info.get("provenance", {})))
    load_weights(model, path, variant)
    model.eval()
    return model


def create_model(name: str, *, pretrained: bool = False, variant: str = "default", **overrides: Any) -> ZooModel:
    """Build a model by registered name, or load one from a pretrained folder, a run dir or a hub
    location (hf://OWNER/NAME[@REV], file:///HUB/OWNER/NAME[@REV]); ``pretrained=True`` with a
    name pulls the hub location its zoo.toml variant names.

    ``overrides`` replace config fields (type-checked). ``variant`` picks "ema" or "raw"
    weights of a pretrained folder ("default": EMA where present).
    """
    if is_location(name):  # hf://owner/name[@rev] or file:///hub/owner/name[@rev]: always pretrained
        return load_pretrained(pull(name), variant, overrides, source=name)
    path = Path(name).expanduser()
    if path.is_dir():
        return load_pretrained(pretrained_folder(path), variant, overrides, source=name)
    zoo = get_zoo()
    if name not in zoo.models and _HUB_ID.match(name) and not path.exists():
        raise GenzooError(f"{name!r} is neither a folder nor a registered model; a Hugging Face Hub repo is "
                          f"written hf://{name} (a directory hub: file:///PATH/TO/HUB/{name}).")
    entry = zoo.model(name)
    if pretrained and entry.hub:
        return load_pretrained(pull(entry.hub), variant, overrides, source=entry.hub)
    if pretrained:
        raise GenzooError(
            f"model {name!r} has no pretrained weights registered; train it with `genzoo train {name}` "
            f"and load the run dir, or pass a pretrained folder."
        )
    return build_model(entry, entry.make_config(overrides), entry.preprocessing)

