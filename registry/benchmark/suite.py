"""Benchmark suites: the ``[suites.NAME]`` tables of the zoo.toml catalog, parsed and checked.

A suite fixes one evaluation protocol (real data and split, metrics, feature extractor,
sample count, evaluation seed) for every model in it; models differ only in what they are
and how long they train. Every mistake is reported with the catalog file, the suite and
the field, because a typo found after an hour of training is an hour lost.

    [suites.mnist-quick]
    description = "Every GAN family and the VAE on MNIST, a few minutes on a CPU."
    data = "mnist"                 # trained on its train split, scored against `split`
    split = "test"
    metrics = ["fid", "kid", "pr"]
    features = "lenet-mnist"       # default: the zoo evaluator for the data set
    n = 2000                       # generated (and real) images per evaluation
    seeds = 2                      # or a list: [0, 1, 2]
    budget = { steps = 300 }       # steps | epochs | minutes, "recipe" or "pretrained"
    train = { batch_size = 64 }    # trainer overrides for every model
    eval = { seed = 2020, kid_subsets = 100, kid_subset_size = 1000, batch_size = 200 }
    models = ["dcgan-mnist", { model = "wgan-gp-mnist", budget = { steps = 100 } }]

``models`` may instead be a table of tables, ``[suites.NAME.models.LABEL]``, each with an
optional ``model`` (default: LABEL), ``config``, ``train``, ``preprocessing``, ``budget`` and ``metrics``
(the part of the suite's metrics that model is scored on; the others show "n/a (not measured in this
suite)"). ``budget = "recipe"`` trains each model for its registered recipe's own steps.
A model is any registered name (third-party plugins included) or a hub location.

What one cell may use where a scheduler runs it (``genzoo bench --executor ray|slurm``; the local
process pool ignores it), all optional::

    resources = { timeout_min = 60, cpus_per_task = 2, gpus_per_node = 1, mem_gb = 8 }

Ray reserves ``cpus_per_task`` CPUs per cell (and a GPU when the cluster has any); Slurm gets the
four as ``--time``, ``--cpus-per-task``, ``--gpus-per-node`` and ``--mem``. Resources are no part of
a cell's key: where a cell ran does not change its numbers.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genzoo.core.errors import ConfigError, did_you_mean
from genzoo.core.metrics.extractors.defaults import default_extractor

# which capability each metric needs, the scores it fills and why a model without it gets n/a: shared with
# `genzoo eval`, so both say n/a for the same reasons
from ..evaluation.applicability import NEEDS, SCORES, WHY, score_names  # noqa: F401 (re-exported)
from ..hub import is_location
from ..zoo import catalog, get_zoo

if sys.version_info >= (3, 11):
    pass
else:  # pragma: no cover
    pass

_SUITE_KEYS = {"description", "data", "split", "metrics", "features", "features_weights", "n", "seeds",
               "budget", "train", "eval", "models", "resources"}
_RESOURCE_KEYS = {"timeout_min": 60, "cpus_per_task": 0, "gpus_per_node": 0, "mem_gb": 0}
_MODEL_KEYS = {"model", "label", "config", "train", "preprocessing", "budget", "metrics"}
_EVAL_KEYS = {"seed": 2020, "kid_subsets": 100, "kid_subset_size": 1000, "batch_size": 200}
_BUDGET_KINDS = ("steps", "epochs", "minutes")


@dataclass(frozen=True)
class Budget:
    """How much a model may train: ``steps``, ``epochs`` or wall-clock ``minutes``, its registered recipe's
    own length (``recipe``: each model as long as its author meant it to train), or none (``pretrained``)."""

    kind: str
    value: float = 0

    def describe(self) -> str:
        if self.kind in ("pretrained", "recipe"):
            return self.kind
        value = int(self.value) if float(self.value).is_integer() else self.value
        return f"{value} {self.kind if value != 1 else self.kind[:-1]}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "value": self.value}


@dataclass(frozen=True)
class SuiteModel:
    """One contestant: a display label, what to build, its own overrides and its budget."""

    label: str
    model: str
    budget: Budget
    config: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)
    preprocessing: dict[str, Any] = field(default_factory=dict)
    metrics: tuple[str, ...] = ()
    """The part of the suite's metrics this model is scored on (empty: all of them); the rest show
    "n/a (not measured in this suite)". A PixelCNN's FID needs one network pass per sub-pixel of
    every sample, hours on a CPU, where its exact bits/dim are seconds."""

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "model": self.model, "budget": self.budget.to_dict(), "config": self.config,
                "train": self.train, "preprocessing": self.preprocessing, "metrics": list(self.metrics)}


@dataclass(frozen=True)
class EvalProtocol:
    """What every model in a suite is measured by; part of every cell's key."""

    data: str
    split: str
    metrics: tuple[str, ...]
    features: str
    n: int
    seed: int = 2020
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    batch_size: int = 200
    features_weights: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"data": self.data, "split": self.split, "metrics": list(self.metrics), "features": self.features,
                "features_weights": self.features_weights, "n": self.n, "seed": self.seed,
                "kid_subsets": self.kid_subsets, "kid_subset_size": self.kid_subset_size,
                "batch_size": self.batch_size}


@dataclass(frozen=True)
class Resources:
    """What one cell may use under a scheduler (0: the executor's default: one CPU, no GPU, the partition's memory)."""

    timeout_min: int = 60
    cpus_per_task: int = 0
    gpus_per_node: int = 0
    mem_gb: float = 0

    def to_dict(self) -> dict[str, Any]:
        return {"timeout_min": self.timeout_min, "cpus_per_task": self.cpus_per_task,
                "gpus_per_node": self.gpus_per_node, "mem_gb": self.mem_gb}


@dataclass(frozen=True)
class Suite:
    name: str
    path: str
    description: str
    models: tuple[SuiteModel, ...]
    seeds: tuple[int, ...]
    protocol: EvalProtocol
    train: dict[str, Any] = field(default_factory=dict)
    resources: Resources = field(default_factory=Resources)

    def select(self, patterns: str | None) -> Suite:
        """Only the models whose label (or model name) matches one of the comma-separated fnmatch patterns."""
        if not patterns:
            return self
        pats = [p.strip() for p in patterns.split(",") if p.strip()]
        keep = tuple(m for m in self.models
                     if any(fnmatch.fnmatchcase(m.label, p) or fnmatch.fnmatchcase(m.model, p) for p in pats))
        if not keep:
            raise ConfigError(f"--models {patterns!r} matches no model of suite {self.name!r}; "
                              f"it has: {', '.join(m.label for m in self.models)}.")
        return dataclasses.replace(self, models=keep)

    def with_seeds(self, n: int | None) -> Suite:
        if n is None:
            return self
        if n < 1:
            raise ConfigError(f"--seeds must be at least 1 (got {n}).")
        return dataclasses.replace(self, seeds=tuple(range(n)))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "catalog": self.path, "description": self.description,
                "models": [m.to_dict() for m in self.models], "seeds": list(self.seeds),
                "protocol": self.protocol.to_dict(), "train": self.train, "resources": self.resources.to_dict()}


# -- parsing -----------------------------------------------------------------------------------


def list_suites() -> dict[str, str]:
    """Suite name -> description, without validating the suites."""
    raw = catalog.load().raw.get("suites", {})
    return {name: (t.get("description", "") if isinstance(t, dict) else "") for name, t in raw.items()}


def load_suite(name: str) -> Suite:
    """The suite ``name`` from the catalog (zoo.toml, plugins' zoo.toml, $GENZOO_CATALOG files), validated."""
    cat = catalog.load()
    raw = cat.raw.get("suites", {})
    if name not in raw:
        known = ", ".join(sorted(raw)) or "none"
        raise ConfigError(f"unknown benchmark suite {name!r}.{did_you_mean(name, raw)} Known suites: {known} "
                          "(declared as [suites.NAME] in zoo.toml, a plugin's zoo.toml or a $GENZOO_CATALOG file).")
    return parse_suite(name, raw[name], cat.origins["suites"][name])


def parse_suite(name: str, table: Any, path: Path | str) -> Suite:
    where = f"{path}: [suites.{name}]"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table.")
    _no_unknown(table, _SUITE_KEYS, where)
    zoo = get_zoo()
    data = _string(table, "data", where, required=True)
    split = _string(table, "split", where) or "test"
    metrics = _metrics(table.get("metrics", ["fid", "kid", "pr"]), where, zoo)
    n = _int(table, "n", where, default=10_000, minimum=2)
    seeds = _seeds(table.get("seeds", 1), where)
    default_budget = parse_budget(table["budget"], f"{where}.budget") if "budget" in table else None
    train = _table(table, "train", where)
    ev = _table(table, "eval", where)
    _no_unknown(ev, set(_EVAL_KEYS), f"{where}.eval")
    ev_values = {k: _int(ev, k, f"{where}.eval", default=d, minimum=1 if k != "seed" else 0)
                 for k, d in _EVAL_KEYS.items()}
    if ev_values["kid_subset_size"] < 2:
        raise ConfigError(f"{where}.eval.kid_subset_size must be at least 2 (got {ev_values['kid_subset_size']}).")
    features = _string(table, "features", where) or default_extractor(data)
    protocol = EvalProtocol(data=data, split=split, metrics=metrics, features=features, n=n,
                            features_weights=_string(table, "features_weights", where), **ev_values)
    models = _models(table.get("models"), where, default_budget, zoo, metrics)
    return Suite(name=name, path=str(path), description=_string(table, "description", where), models=models,
                 seeds=seeds, protocol=protocol, train=train, resources=_resources(table, where))


def _resources(table: dict[str, Any], where: str) -> Resources:
    res = _table(table, "resources", where)
    _no_unknown(res, set(_RESOURCE_KEYS), f"{where}.resources")
    values = {k: _int(res, k, f"{where}.resources", default=d, minimum=1 if k == "timeout_min" else 0)
              for k, d in _RESOURCE_KEYS.items() if k != "mem_gb"}
    mem = res.get("mem_gb", 0)
    if isinstance(mem, bool) or not isinstance(mem, (int, float)) or mem < 0:
        raise ConfigError(f"{where}.resources.mem_gb must be a number of GB >= 0; got {mem!r}.")
    return Resources(mem_gb=float(mem), **values)


def parse_budget(value: Any, where: str) -> Budget:
    if value in ("pretrained", "recipe"):
        return Budget(value)
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be \"recipe\", \"pretrained\" or a table with one of "
                          f"{', '.join(_BUDGET_KINDS)} (e.g. {{ steps = 500 }}); got {value!r}.")
    kinds = [k for k in value if k in _BUDGET_KINDS]
    unknown = [k for k in value if k not in _BUDGET_KINDS]
    if unknown or len(kinds) != 1:
        raise ConfigError(f"{where} must name exactly one of {', '.join(_BUDGET_KINDS)}; got {sorted(value)}.")
    kind = kinds[0]
    v = value[kind]
    integral = isinstance(v, int) and not isinstance(v, bool)
    if not (integral or (kind == "minutes" and isinstance(v, float))) or v <= 0:
        what = "a positive number" if kind == "minutes" else "a positive integer"
        raise ConfigError(f"{where}.{kind} must be {what}; got {v!r}.")
    return Budget(kind, float(v) if kind == "minutes" else int(v))


def _models(value: Any, where: str, default_budget: Budget | None, zoo: Any,
            suite_metrics: tuple[str, ...]) -> tuple[SuiteModel, ...]:
    if value is None:
        raise ConfigError(f"{where} needs models = [\"NAME\", ...] (registered names or hub locations).")
    if isinstance(value, dict):
        items = [(label, body, f"{where}.models.{label}") for label, body in value.items()]
    elif isinstance(value, list):
        items = [(None, body, f"{where}.models[{i}]") for i, body in enumerate(value)]
    else:
        raise ConfigError(f"{where}.models must be a list of names / tables, or a table of tables.")
    if not items:
        raise ConfigError(f"{where}.models is empty; list at least one model.")
    out: list[SuiteModel] = []
    for label, body, at in items:
        if isinstance(body, str):
            body = {"model": body}
        if not isinstance(body, dict):
            raise ConfigError(f"{at} must be a model name or a table with model = \"NAME\".")
        _no_unknown(body, _MODEL_KEYS, at)
        model = body.get("model", label)
        if not isinstance(model, str) or not model:
            raise ConfigError(f"{at} needs model = \"NAME\" (a registered model or a hub location).")
        _check_model(model, at, zoo)
        budget = parse_budget(body["budget"], f"{at}.budget") if "budget" in body else default_budget
        if budget is None:
            raise ConfigError(f"{at} has no budget; give the suite a budget = {{ steps = N }} or the model one.")
        if is_location(model) and budget.kind != "pretrained":
            raise ConfigError(f"{at}: {model} is a hub location; its budget must be \"pretrained\".")
        tables = {k: _table(body, k, at) for k in ("config", "train", "preprocessing")}
        if budget.kind == "pretrained" and any(tables.values()):
            raise ConfigError(f"{at}: a pretrained model is scored as published; drop its config/train/"
                              "preprocessing overrides (or give it a training budget).")
        metrics = _metrics(body["metrics"], at, zoo) if "metrics" in body else ()
        if extra := [m for m in metrics if m not in suite_metrics]:
            raise ConfigError(f"{at}.metrics: {', '.join(extra)} not among the suite's metrics "
                              f"({', '.join(suite_metrics)}); a model is scored on a part of them, not on others.")
        out.append(SuiteModel(label=body.get("label", label or model), model=model, budget=budget, metrics=metrics,
                              **tables))
    labels = [m.label for m in out]
    dupes = sorted({x for x in labels if labels.count(x) > 1})
    if dupes:
        raise ConfigError(f"{where}.models lists {', '.join(dupes)} more than once; give each a distinct label.")
    return tuple(out)


def _check_model(model: str, where: str, zoo: Any) -> None:
    if is_location(model) or model in zoo.models:
        return
    raise ConfigError(f"{where}: unknown model {model!r}.{did_you_mean(model, zoo.models)} "
                      "Use a name from `genzoo list` (install its plugin first) or a hub location.")


def _metrics(value: Any, where: str, zoo: Any) -> tuple[str, ...]:
    names = value.split(",") if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(m, str) for m in names):
        raise ConfigError(f"{where}.metrics must be a list of metric names, e.g. [\"fid\", \"kid\", \"pr\"].")
    names = [m.strip().lower() for m in names if m.strip()]
    if not names:
        raise ConfigError(f"{where}.metrics is empty.")
    for m in names:
        if m not in zoo.metrics:
            raise ConfigError(f"{where}.metrics: unknown metric {m!r}.{did_you_mean(m, zoo.metrics)} "
                              f"Known: {', '.join(sorted(zoo.metrics))}.")
    return tuple(dict.fromkeys(names))


def _seeds(value: Any, where: str) -> tuple[int, ...]:
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            raise ConfigError(f"{where}.seeds must be at least 1 (got {value}).")
        return tuple(range(value))
    if isinstance(value, list) and value and all(isinstance(s, int) and not isinstance(s, bool) for s in value):
        if len(set(value)) != len(value):
            raise ConfigError(f"{where}.seeds lists a seed twice: {value}.")
        return tuple(value)
    raise ConfigError(f"{where}.seeds must be a count (e.g. 3) or a non-empty list of integers; got {value!r}.")


def _no_unknown(table: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        hint = did_you_mean(unknown[0], allowed)
        raise ConfigError(f"{where} has unknown key(s) {unknown}.{hint} Allowed: {', '.join(sorted(allowed))}.")


def _string(table: dict[str, Any], key: str, where: str, required: bool = False) -> str:
    value = table.get(key, "")
    if required and not value:
        raise ConfigError(f"{where} needs {key} = \"...\".")
    if not isinstance(value, str):
        raise ConfigError(f"{where}.{key} must be a string; got {value!r}.")
    return value


def _int(table: dict[str, Any], key: str, where: str, default: int, minimum: int) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{where}.{key} must be an integer >= {minimum}; got {value!r}.")
    return value


def _table(table: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = table.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}.{key} must be a table of field = value.")
    return dict(value)
