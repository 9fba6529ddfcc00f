"""``--set key=value`` routed to the model config, the trainer or the preprocessing, and the one
rule for what a resumed run may change."""

from __future__ import annotations

import dataclasses
import shlex
from pathlib import Path
from typing import Any

from genzoo.core.config import fields_of
from genzoo.core.errors import ConfigError, GenzooError, did_you_mean
from genzoo.core.preprocessing import Preprocessing
from genzoo.core.recipe import TrainConfig

from ..zoo import ModelEntry

SECTIONS = {"model": "model", "train": "train", "preprocessing": "preprocessing", "pre": "preprocessing"}


def split_overrides(entry: ModelEntry, assignments: dict[str, Any], flag: str = "--set") -> dict[str, dict[str, Any]]:
    """Route ``key=value`` pairs to the model config, trainer or preprocessing.

    ``train.steps=10`` and ``model.latent_dim=64`` are explicit; a bare key goes to the model
    config when it has that field, else to the trainer, else to preprocessing. ``flag`` names
    where the keys came from in the error for an unknown one (``--set``, a ``genzoo tune`` space).
    """
    out: dict[str, dict[str, Any]] = {"model": {}, "train": {}, "preprocessing": {}}
    config_class = entry.config_class()
    model_fields = {**fields_of(config_class), **getattr(config_class, "retired", {})}  # a retired one: its note
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
            raise ConfigError(f"{flag} {key}: {entry.name} has no such field.{did_you_mean(key, known)} "
                              f"See `genzoo info {entry.name}`.")
    return out


def check_resume_overrides(config: dict[str, Any] | None, preprocessing: dict[str, Any] | None) -> None:
    """A resumed run continues the same model on the same data: only train.* fields may change."""
    changed = sorted([*(config or {}), *(f"preprocessing.{k}" for k in preprocessing or {})])
    if changed:
        raise GenzooError(f"a resumed run can only change train.* fields; {', '.join(changed)} "
                          f"{'is' if len(changed) == 1 else 'are'} fixed by the run (start a new run to change "
                          f"{'it' if len(changed) == 1 else 'them'}).")


def _text(value: Any) -> str:
    """A field value as ``--set`` reads it back (genzoo.core.config.coerce)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(_text(v) for v in value)
    return str(value)


def assignments(section: str, values: Any, defaults: Any) -> list[str]:
    """``section.field=value`` for every field of the dataclass ``values`` that differs from ``defaults``."""
    return [f"{section}.{f.name}={_text(getattr(values, f.name))}" for f in dataclasses.fields(values)
            if getattr(values, f.name) != getattr(defaults, f.name)]


def train_command(entry: ModelEntry, data: str, out: str | Path, config: Any, recipe: Any, preprocessing: Any,
                  *, data_root: str | Path | None = None, evaluation: dict[str, Any] | None = None) -> str:
    """The ``genzoo train`` command line that makes this run from scratch, whichever way it was started:
    every config, recipe and preprocessing value that differs from the entry's is spelt out with --set."""
    words = ["genzoo", "train", entry.name, "--data", data, "--out", str(out)]
    if data_root:
        words += ["--data-root", str(data_root)]
    for item in [*assignments("model", config, entry.make_config()), *assignments("train", recipe, entry.make_recipe()),
                 *assignments("preprocessing", preprocessing, entry.preprocessing)]:
        words += ["--set", item]
    if recipe.eval_every and evaluation:
        words += ["--eval-metrics", str(evaluation.get("metrics", "fid")), "--eval-n", str(evaluation.get("n", 2000))]
        if evaluation.get("features"):
            words += ["--eval-features", str(evaluation["features"])]
    return shlex.join(words)


def resume_command(run_dir: str | Path, train: dict[str, Any]) -> str:
    """The ``genzoo train --resume`` command line that continues a run with these train.* changes."""
    words = ["genzoo", "train", "--resume", str(run_dir)]
    for key, value in train.items():
        words += ["--set", f"train.{key}={_text(value)}"]
    return shlex.join(words)
