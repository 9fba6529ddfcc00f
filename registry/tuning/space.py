"""Search spaces: which fields a study varies and over what, read from TOML and checked before any trial.

A space is a TOML table, per field either a list of choices or a range::

    [tune.vae-mnist]                                   # in zoo.toml, or any file given to --space
    lr = { low = 1e-4, high = 3e-3, log = true }       # float range, log scale
    latent_dim = [8, 16, 32]                           # choices
    width = { low = 8, high = 32, step = 8 }           # int range with a step
    "train.batch_size" = { choices = [32, 64] }        # train.* (or a [tune.vae-mnist.train] table)

Fields are exactly those ``--set`` accepts (a model config field, ``train.X``, ``preprocessing.X``;
a bare name is routed as ``--set`` routes it), and every choice and both ends of every range are
built into the typed config, recipe or preprocessing before the first trial, so an unknown field,
a value of the wrong type, a value the config refuses or an empty range stops the command at once
with one message, not at trial 17. Integer and float ranges need a numeric field; ``log`` needs
``low > 0`` and no step. A grid takes every choice list whole and expands ranges that have a step.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genzoo.core.config import coerce, field_types
from genzoo.core.errors import ConfigError
from genzoo.core.preprocessing import Preprocessing
from genzoo.core.recipe import TrainConfig

from ..models.overrides import SECTIONS, split_overrides
from ..zoo import ModelEntry, catalog

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

RANGE_KEYS = {"low", "high", "step", "log"}
SPEC_KEYS = RANGE_KEYS | {"choices"}
PREFIX = {"model": "", "train": "train.", "preprocessing": "preprocessing."}


@dataclass(frozen=True)
class Param:
    """One searched field: its name as Optuna records it (``lr``, ``train.batch_size``), where it goes, over what."""

    name: str
    section: str
    field: str
    choices: tuple[Any, ...] = ()
    low: float = 0
    high: float = 0
    step: float | None = None
    log: bool = False
    integer: bool = False

    @property
    def is_range(self) -> bool:
        return not self.choices

    def grid_values(self) -> list[Any] | None:
        """Every value a grid visits, or None for a range without a step (no finite grid)."""
        if self.choices:
            return list(self.choices)
        if self.step is None or self.log:
            return None
        count = math.floor((self.high - self.low) / self.step + 1e-9) + 1
        values = [self.low + i * self.step for i in range(count)]
        return [int(v) for v in values] if self.integer else [round(v, 12) for v in values]

    def suggest(self, trial: Any, grid: bool) -> Any:
        if grid or self.choices:
            return trial.suggest_categorical(self.name, self.grid_values())
        if self.integer:
            return trial.suggest_int(self.name, int(self.low), int(self.high), step=int(self.step or 1), log=self.log)
        return trial.suggest_float(self.name, self.low, self.high, step=self.step, log=self.log)

    def to_dict(self) -> dict[str, Any]:
        if self.choices:
            return {"choices": list(self.choices)}
        return {"low": self.low, "high": self.high, "step": self.step, "log": self.log, "int": self.integer}


@dataclass(frozen=True)
class Space:
    params: tuple[Param, ...]
    where: str
    """Where the space was read from, for messages and the study's record."""

    def suggest(self, trial: Any, grid: bool = False) -> dict[str, Any]:
        return {p.name: p.suggest(trial, grid) for p in self.params}

    def grid(self) -> dict[str, list[Any]]:
        """The grid sampler's space; ConfigError when a range has no step."""
        out = {}
        for p in self.params:
            values = p.grid_values()
            if values is None:
                raise ConfigError(f"{self.where}: --sampler grid needs a finite list for {p.name}; give it choices "
                                  f"= [...] or a step (log ranges have no grid), or use --sampler random or tpe.")
            out[p.name] = values
        return out

    def overrides(self, values: dict[str, Any], base: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """``base`` (the --set overrides) with one trial's values put where each field belongs."""
        out = {section: dict(base.get(section, {})) for section in PREFIX}
        for p in self.params:
            out[p.section][p.field] = values[p.name]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {p.name: p.to_dict() for p in self.params}


# -- reading ------------------------------------------------------------------------------------


def load_space(entry: ModelEntry, specs: tuple[str, ...] | list[str], base: dict[str, dict[str, Any]]) -> Space:
    """The space from ``--space`` values (files or inline TOML, later ones win per field), or else the
    catalog's ``[tune.NAME]`` table for the model, checked against the model's fields and ``base``."""
    table: dict[str, Any] = {}
    wheres = []
    if not specs:
        cat = catalog.load()
        raw = cat.raw.get("tune", {})
        if entry.name not in raw:
            raise ConfigError(f"no search space for {entry.name}: give --space FILE or --space 'FIELD = [...]', or "
                              f"declare a [tune.{entry.name}] table in zoo.toml or a $GENZOO_CATALOG file.")
        where = f"{cat.origins['tune'][entry.name]}: [tune.{entry.name}]"
        return parse_space(entry, raw[entry.name], where, base)
    for spec in specs:
        part, where = _read_spec(entry.name, spec)
        table.update(_flatten(part, where))
        wheres.append(where)
    return parse_space(entry, table, "; ".join(wheres), base)


def _read_spec(model: str, spec: str) -> tuple[dict[str, Any], str]:
    text = spec.strip()
    path = Path(text).expanduser()
    if not text.startswith("{") and "=" not in text:
        if not path.is_file():
            raise ConfigError(f"--space {spec!r}: no such file; give a TOML file or an inline space such as "
                              "--space 'lr = { low = 1e-4, high = 1e-2, log = true }'.")
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}") from None
        tune = doc.get("tune")
        if tune is None:
            return doc, str(path)
        if not isinstance(tune, dict) or model not in tune:
            names = ", ".join(sorted(tune)) if isinstance(tune, dict) else "none"
            raise ConfigError(f"{path} has no [tune.{model}] table (it has: {names}).")
        return tune[model], f"{path}: [tune.{model}]"
    try:
        doc = tomllib.loads(f"space = {text}" if text.startswith("{") else text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"--space {spec!r} is not valid TOML ({exc}); e.g. --space 'latent_dim = [16, 32]' or "
                          "--space '{ lr = { low = 1e-4, high = 1e-2, log = true } }'.") from None
    return (doc["space"] if text.startswith("{") else doc), f"--space {spec!r}"


def _flatten(table: Any, where: str) -> dict[str, Any]:
    """``train = { batch_size = [...] }`` (a TOML dotted key or sub-table) -> ``"train.batch_size"``."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table of FIELD = [choices] or FIELD = {{ low = ..., high = ... }}.")
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key in SECTIONS and isinstance(value, dict) and not set(value) & SPEC_KEYS:
            out.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            out[key] = value
    return out


def parse_space(entry: ModelEntry, table: Any, where: str, base: dict[str, dict[str, Any]]) -> Space:
    flat = _flatten(table, where)
    if not flat:
        raise ConfigError(f"{where} is empty: name at least one field to search.")
    hints = {"model": field_types(entry.config_class()), "train": field_types(TrainConfig),
             "preprocessing": field_types(Preprocessing)}
    params, seen = [], {}
    for key, spec in flat.items():
        routed = split_overrides(entry, {key: None}, flag=f"{where}:")
        section, field = next((s, f) for s, fields in routed.items() for f in fields)
        name = PREFIX[section] + field
        if name in seen:
            raise ConfigError(f"{where}: {key} and {seen[name]} are the same field; name it once.")
        seen[name] = key
        if field in base.get(section, {}):
            raise ConfigError(f"{where}: {name} is searched and also fixed with --set {name}=...; drop one.")
        param = _param(name, section, field, spec, hints[section].get(field), f"{where}: {key}")
        for value in (param.choices or (param.low, param.high)):
            _check_value(entry, section, field, value, base, f"{where}: {key}")
        params.append(param)
    return Space(tuple(params), where)


def _param(name: str, section: str, field: str, spec: Any, tp: Any, where: str) -> Param:
    if isinstance(spec, list) or (isinstance(spec, dict) and "choices" in spec):
        choices = spec if isinstance(spec, list) else spec["choices"]
        if isinstance(spec, dict) and set(spec) - {"choices"}:
            raise ConfigError(f"{where}: give choices or a range (low/high/step/log), not both.")
        if not isinstance(choices, list) or not choices:
            raise ConfigError(f"{where}: choices must be a non-empty list.")
        values = tuple(_storable(coerce(c, tp, where) if tp is not None else c) for c in choices)
        if len(set(map(repr, values))) != len(values):
            raise ConfigError(f"{where}: a choice is listed twice ({list(choices)}).")
        return Param(name, section, field, choices=values)
    if not isinstance(spec, dict):
        raise ConfigError(f"{where} = {spec!r}: give a list of choices, e.g. [16, 32], or a range, e.g. "
                          "{ low = 1e-4, high = 1e-2, log = true }.")
    unknown = sorted(set(spec) - RANGE_KEYS)
    if unknown or not {"low", "high"} <= set(spec):
        raise ConfigError(f"{where}: a range needs low and high (optional step, log); got {sorted(spec)}.")
    if tp not in (int, float):
        raise ConfigError(f"{where}: a low/high range needs a numeric field; this one is {getattr(tp, '__name__', tp)}"
                          ", so list its choices instead.")
    low, high, step, log = spec["low"], spec["high"], spec.get("step"), spec.get("log", False)
    for key, v in (("low", low), ("high", high), ("step", step)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            raise ConfigError(f"{where}: {key} = {v!r} must be a number.")
        if tp is int and v is not None and not float(v).is_integer():
            raise ConfigError(f"{where}: {key} = {v!r} must be an integer (the field is an int).")
    if not isinstance(log, bool):
        raise ConfigError(f"{where}: log must be true or false.")
    if low > high:
        raise ConfigError(f"{where}: the range is empty (low {low} > high {high}).")
    if step is not None and step <= 0:
        raise ConfigError(f"{where}: step must be positive (got {step}).")
    if log and low <= 0:
        raise ConfigError(f"{where}: a log range needs low > 0 (got {low}).")
    if log and step is not None and not (tp is int and step == 1):
        raise ConfigError(f"{where}: a log range takes no step.")
    integer = tp is int
    cast = int if integer else float
    return Param(name, section, field, low=cast(low), high=cast(high), step=None if step is None else cast(step),
                 log=log, integer=integer)


def _storable(value: Any) -> Any:
    """Optuna stores None, bools, numbers and text: a tuple choice travels as the text ``--set`` reads."""
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return value


def _check_value(entry: ModelEntry, section: str, field: str, value: Any, base: dict[str, dict[str, Any]],
                 where: str) -> None:
    """Build the section's typed object with this value (and the --set ones): the config's own checks run."""
    make = {"model": entry.make_config, "train": entry.make_recipe, "preprocessing": entry.make_preprocessing}[section]
    try:
        make({**base.get(section, {}), field: value})
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
