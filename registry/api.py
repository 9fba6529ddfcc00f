"""The Python API: what ``import genzoo`` offers, and what the CLI calls.

Functions here import torch and model code only when they need them, so that importing
genzoo (and listing the zoo) stays cheap.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from genzoo.core.config import field_types, fields_of, from_dict, to_dict, type_name
from genzoo.core.errors import ConfigError, DataError, GenzooError, did_you_mean
from genzoo.core.preprocessing import Preprocessing
from genzoo.core.recipe import TrainConfig
from genzoo.core.version import __version__

from .registry import ModelEntry, get_zoo
from .specs import resolve

RUN_FILE = "run.json"


def list_models(pattern: str | list[str] = "*", *, family: str = "", plugin: str = "") -> list[str]:
    """Registered model names matching fnmatch ``pattern`` (e.g. "dcgan*")."""
    return get_zoo().list_models(pattern, family=family, plugin=plugin)


def data_root(root: str | os.PathLike | None = None) -> Path:
    """Where named datasets live: ``root``, else $GENZOO_DATA, else ~/.cache/genzoo/data."""
    if root:
        return Path(root).expanduser()
    if os.environ.get("GENZOO_DATA"):
        return Path(os.environ["GENZOO_DATA"]).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "genzoo" / "data"


def load_data(
    source: str,
    *,
    image_size: int,
    channels: int,
    resize: str = "resize",
    split: str = "train",
    root: str | os.PathLike | None = None,
    download: bool | None = None,
) -> Any:
    """Load a source at a model's size: a dataset name, a folder (``folder:PATH`` or a path),
    or ``unpaired:A_DIR,B_DIR``. Returns a genzoo.core.data.ImageSet of uint8 images."""
    from genzoo.core.data import format_images, load_folder, load_unpaired

    if download is None:
        download = os.environ.get("GENZOO_OFFLINE", "") not in ("1", "true", "yes")
    kw = {"image_size": image_size, "channels": channels, "resize": resize}
    if source.startswith("unpaired:"):
        parts = source[len("unpaired:") :].split(",")
        if len(parts) != 2 or not all(parts):
            raise DataError(f"data source {source!r} must look like unpaired:A_DIR,B_DIR.")
        return load_unpaired(Path(parts[0]), Path(parts[1]), **kw)
    if source.startswith("folder:"):
        return load_folder(Path(source[len("folder:") :]), **kw)
    zoo = get_zoo()
    if source not in zoo.datasets and ("/" in source or os.sep in source or Path(source).exists()):
        path = Path(source)
        if not path.is_dir():
            raise DataError(f"data folder {path} does not exist.")
        return load_folder(path, **kw)
    spec = zoo.dataset(source)
    loader = resolve(spec.loader, f"dataset {source!r}")
    images = loader(data_root(root), split, download=download)
    return format_images(images, image_size, channels, resize)


# -- building models ------------------------------------------------------------------------


def _meta(entry: ModelEntry, preprocessing: Preprocessing) -> dict[str, Any]:
    return {
        "name": entry.name, "family": entry.family, "plugin": entry.plugin, "distribution": entry.distribution,
        "preprocessing": to_dict(preprocessing), "data": entry.data, "tags": list(entry.tags),
        "description": entry.description,
    }


def _build(entry: ModelEntry, config: Any, preprocessing: Preprocessing) -> Any:
    model = entry.builder()(config)
    model.meta = _meta(entry, preprocessing)
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


def _from_pretrained_folder(path: Path, variant: str, overrides: dict[str, Any]) -> Any:
    from genzoo.core.pretrained import load_weights, read_config

    info = read_config(path)
    entry = _entry_for_folder(info, path)
    config = from_dict(entry.config_class(), {**info["config"], **overrides}, where=f"{path}/config.json")
    preprocessing = from_dict(Preprocessing, info.get("preprocessing", {}), where=f"{path}/config.json preprocessing")
    model = _build(entry, config, preprocessing)
    model.meta["name"] = info["name"]
    load_weights(model, path, variant)
    model.eval()
    return model


def create_model(name: str, *, pretrained: bool = False, variant: str = "default", **overrides: Any) -> Any:
    """Build a model by registered name, or load one from a pretrained folder, a run dir or a hub
    location (hf://OWNER/NAME[@REV], file:///HUB/OWNER/NAME[@REV]); ``pretrained=True`` with a
    name pulls the hub location its zoo.toml variant names.

    ``overrides`` replace config fields (type-checked). ``variant`` picks "ema" or "raw"
    weights of a pretrained folder ("default": EMA where present).
    """
    from .hub import is_location, pull

    if is_location(name):  # hf://owner/name[@rev] or file:///hub/owner/name[@rev]: always pretrained
        return _from_pretrained_folder(pull(name), variant, overrides)
    path = Path(name).expanduser()
    if path.is_dir():
        if (path / RUN_FILE).is_file():
            if (path / "pretrained" / "config.json").is_file():
                return _from_pretrained_folder(path / "pretrained", variant, overrides)
            raise GenzooError(
                f"run {path} has no pretrained/ folder yet; finish it with `genzoo train --resume {path}`."
            )
        return _from_pretrained_folder(path, variant, overrides)
    entry = get_zoo().model(name)
    if pretrained and entry.hub:
        return _from_pretrained_folder(pull(entry.hub), variant, overrides)
    if pretrained:
        raise GenzooError(
            f"model {name!r} has no pretrained weights registered; train it with `genzoo train {name}` "
            f"and load the run dir, or pass a pretrained folder."
        )
    return _build(entry, entry.make_config(overrides), entry.preprocessing)


# -- overrides from --set -------------------------------------------------------------------

SECTIONS = {"model": "model", "train": "train", "preprocessing": "preprocessing", "pre": "preprocessing"}


def split_overrides(entry: ModelEntry, assignments: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Route ``key=value`` pairs to the model config, trainer or preprocessing.

    ``train.steps=10`` and ``model.latent_dim=64`` are explicit; a bare key goes to the model
    config when it has that field, else to the trainer, else to preprocessing.
    """
    out: dict[str, dict[str, Any]] = {"model": {}, "train": {}, "preprocessing": {}}
    model_fields = fields_of(entry.config_class())
    train_fields, pre_fields = fields_of(TrainConfig), fields_of(Preprocessing)
    for key, value in assignments.items():
        section, dot, field = key.partition(".")
        if dot and section in SECTIONS:
            out[SECTIONS[section]][field] = value
        elif key in model_fields:
            out["model"][key] = value
        elif key in train_fields:
            out["train"][key] = value
        elif key in pre_fields:
            out["preprocessing"][key] = value
        else:
            known = [*model_fields, *(f"train.{k}" for k in train_fields), *(f"preprocessing.{k}" for k in pre_fields)]
            raise ConfigError(f"--set {key}: {entry.name} has no such field.{did_you_mean(key, known)} "
                              f"See `genzoo info {entry.name}`.")
    return out


# -- training -------------------------------------------------------------------------------


def _read_run(run_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((run_dir / RUN_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GenzooError(f"cannot resume: {run_dir} is not a genzoo run (no {RUN_FILE}).") from None
    except json.JSONDecodeError as exc:
        raise GenzooError(f"{run_dir / RUN_FILE} is not valid JSON ({exc}).") from None


def train(
    name: str | None = None,
    data: str | None = None,
    *,
    steps: int | None = None,
    epochs: int | None = None,
    out: str | os.PathLike | None = None,
    resume: str | os.PathLike | None = None,
    config: dict[str, Any] | None = None,
    train: dict[str, Any] | None = None,
    preprocessing: dict[str, Any] | None = None,
    data_root: str | os.PathLike | None = None,
    progress: bool | None = None,
    eval_metrics: str = "fid",
    eval_n: int = 2000,
    eval_features: str | None = None,
) -> Any:
    """Train a registered model (or resume a run) and return a TrainResult.

    A run dir holds run.json (everything needed to resume), checkpoints/, samples/,
    metrics.jsonl and, at the end, pretrained/. With ``train={"eval_every": K}`` the model is
    scored every K steps on ``eval_metrics`` (``eval_n`` samples against the data's test
    split, ``eval_features`` extractor), logged as ``eval.<metric>`` and usable as
    ``train.monitor`` for early stopping; the final weights' scores (``result.scores``) are
    recorded with their protocols in pretrained/config.json and the model card, as
    ``genzoo eval RUN_DIR --card`` would record them.
    """
    import torch

    from genzoo.core.atomic import atomic_write_text
    from genzoo.core.data.loader import BatchLoader
    from genzoo.core.device import pick_device
    from genzoo.core.trainer import Trainer

    train_overrides = dict(train or {})
    if steps is not None:
        train_overrides["steps"] = steps
    if epochs is not None:
        train_overrides["epochs"] = epochs
    if resume is not None:
        run_dir = Path(resume)
        run = _read_run(run_dir)
        entry = get_zoo().model(run["model"])
        model_cfg = from_dict(entry.config_class(), run["config"], where=f"{run_dir}/{RUN_FILE} config")
        recipe = from_dict(TrainConfig, {**run["train"], **train_overrides}, where="train")
        prep = from_dict(Preprocessing, run["preprocessing"], where=f"{run_dir}/{RUN_FILE} preprocessing")
        source = run["data"]
        data_root = data_root or run.get("data_root")
        evaluation = run.get("eval", {})
    else:
        if name is None:
            raise GenzooError("train needs a model name (or resume=RUN_DIR).")
        entry = get_zoo().model(name)
        model_cfg = entry.make_config(config)
        recipe = entry.make_recipe(train_overrides)
        prep = entry.make_preprocessing(preprocessing)
        source = data or entry.data
        evaluation = {"metrics": eval_metrics, "n": eval_n, "features": eval_features}
        run_dir = Path(out) if out else Path("runs") / entry.name
        if (run_dir / RUN_FILE).exists():
            raise GenzooError(f"{run_dir} already holds a run; pass --resume {run_dir} to continue it, "
                              f"or --out a new folder (nothing was overwritten).")
    image_size, channels = getattr(model_cfg, "image_size", 0), getattr(model_cfg, "channels", 0)
    images = load_data(source, image_size=image_size, channels=channels, resize=prep.resize, root=data_root)
    torch.manual_seed(recipe.seed)
    model = _build(entry, model_cfg, prep)
    model.meta["data"] = source
    n_classes = len(images.classes)
    labels = torch.arange(recipe.sample_grid) % n_classes if n_classes and "conditional" in model.capabilities else None
    device = pick_device(recipe.device)
    loader = BatchLoader(images, prep, recipe.batch_size, recipe.seed, device)
    evaluator = None
    if recipe.eval_every:
        from .evaluation import training_evaluator

        evaluator = training_evaluator(source, metrics=evaluation.get("metrics", "fid"), n=evaluation.get("n", 2000),
                                       features=evaluation.get("features"), data_root=data_root)
    trainer = Trainer(model, loader, recipe, run_dir, progress=progress, sample_labels=labels, evaluate=evaluator)
    if resume is not None:
        trainer.resume()
    else:
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(run_dir / RUN_FILE, json.dumps({
            "model": entry.name, "family": entry.family, "plugin": entry.plugin, "data": source,
            "data_root": str(Path(data_root).resolve()) if data_root else None,
            "classes": list(images.classes), "config": to_dict(model_cfg), "train": to_dict(recipe),
            "preprocessing": to_dict(prep), "eval": evaluation, "genzoo_version": __version__,
        }, indent=2) + "\n")
    result = trainer.fit()
    if result.scores and result.pretrained_dir is not None:
        from .evaluation import EvalResult, record_in_card

        real = result.scores[0].protocol  # which data and split the scores were measured against
        record_in_card(result.pretrained_dir, EvalResult(str(run_dir), real.real_data, real.real_split, result.scores))
    return result


# -- describing models ----------------------------------------------------------------------


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
    return {
        "name": entry.name, "family": entry.family, "plugin": entry.plugin, "distribution": entry.distribution,
        "source": entry.source, "description": entry.description, "capabilities": list(entry.capabilities),
        "data": entry.data, "hub": entry.hub, "tags": list(entry.tags),
        "config": _fields(cls, entry.make_config(), cls()),
        "preprocessing": _fields(Preprocessing, entry.preprocessing, Preprocessing()),
        "train": _fields(TrainConfig, entry.make_recipe(), TrainConfig()),
    }
