"""The assembled zoo: every model name, dataset, metric and extractor the plugins registered.

Like timm's registry it is a handful of dicts keyed by user-facing names with wildcard
listing, but entries hold ModelSpecs (metadata and lazy references) instead of factory
functions, so assembling the zoo imports no torch. Named variants come from two places
that behave the same: plugins registering several ModelSpecs, and the zoo.toml catalog
(genzoo's, each plugin's own, the user's) refining a registered model with config, recipe
and preprocessing overrides.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from genzoo.core.config import from_dict
from genzoo.core.errors import GenzooError, did_you_mean
from genzoo.core.preprocessing import Preprocessing
from genzoo.core.recipe import TrainConfig

from . import catalog
from .plugin_manager import PluginInfo, PluginManager
from .specs import DatasetSpec, ExtractorSpec, ImporterSpec, MetricSpec, ModelSpec, resolve


@dataclass(frozen=True)
class ModelEntry:
    """A name the user can pass to create_model: a registered model, maybe refined by zoo.toml."""

    name: str
    spec: ModelSpec
    plugin: str
    distribution: str
    source: str
    config: dict[str, Any] = field(default_factory=dict)
    recipe: dict[str, Any] = field(default_factory=dict)
    preprocessing: Preprocessing = field(default_factory=Preprocessing)
    data: str = ""
    description: str = ""
    hub: str = ""
    tags: tuple[str, ...] = ()

    @property
    def family(self) -> str:
        return self.spec.family

    @property
    def capabilities(self) -> tuple[str, ...]:
        return self.spec.capabilities

    @property
    def origin(self) -> str:
        """Who registered this entry, for error messages: plugin and distribution."""
        return f"plugin {self.plugin!r}" + (f", distribution {self.distribution!r}" if self.distribution else "")

    def config_class(self) -> type:
        return resolve(self.spec.config, f"model {self.name!r} ({self.origin}) config")

    def sample_options_class(self) -> type | None:
        """The family's sampling options dataclass, or None when it takes none."""
        if not self.spec.sample_options:
            return None
        return resolve(self.spec.sample_options, f"model {self.name!r} ({self.origin}) sample_options")

    def make_config(self, overrides: dict[str, Any] | None = None) -> Any:
        """The model's typed config: class defaults, then this entry's values, then ``overrides``."""
        cls = self.config_class()
        cfg = from_dict(cls, self.config, where=self.name)
        return from_dict(cls, overrides or {}, where=self.name, base=cfg) if overrides else cfg

    def make_recipe(self, overrides: dict[str, Any] | None = None) -> TrainConfig:
        cfg = from_dict(TrainConfig, self.recipe, where=f"{self.name} train")
        return from_dict(TrainConfig, overrides or {}, where="train", base=cfg) if overrides else cfg

    def make_preprocessing(self, overrides: dict[str, Any] | None = None) -> Preprocessing:
        if not overrides:
            return self.preprocessing
        return from_dict(Preprocessing, overrides, where="preprocessing", base=self.preprocessing)

    def builder(self) -> Any:
        return resolve(self.spec.builder, f"model {self.name!r} ({self.origin}) builder")


@dataclass
class Zoo:
    plugins: dict[str, PluginInfo]
    models: dict[str, ModelEntry] = field(default_factory=dict)
    datasets: dict[str, DatasetSpec] = field(default_factory=dict)
    metrics: dict[str, MetricSpec] = field(default_factory=dict)
    extractors: dict[str, ExtractorSpec] = field(default_factory=dict)
    importers: dict[str, ImporterSpec] = field(default_factory=dict)
    catalog_notes: list[str] = field(default_factory=list)
    manager: PluginManager | None = None

    def model(self, name: str) -> ModelEntry:
        try:
            return self.models[name]
        except KeyError:
            raise GenzooError(
                f"unknown model {name!r}.{did_you_mean(name, self.models)} Run `genzoo list` to see every model."
            ) from None

    def dataset(self, name: str) -> DatasetSpec:
        try:
            return self.datasets[name]
        except KeyError:
            raise GenzooError(
                f"unknown dataset {name!r}.{did_you_mean(name, self.datasets)} "
                f"Known: {', '.join(sorted(self.datasets))}; or pass a folder path, folder:PATH or unpaired:A,B."
            ) from None

    def list_models(self, pattern: str | list[str] = "*", *, family: str = "", plugin: str = "") -> list[str]:
        patterns = [pattern] if isinstance(pattern, str) else list(pattern)
        return sorted(
            name for name, e in self.models.items()
            if any(fnmatch.fnmatchcase(name, p) for p in patterns)
            and (not family or e.family == family) and (not plugin or e.plugin == plugin)
        )


def _registrar(zoo: Zoo, info: PluginInfo, kind: str, table: dict, spec_type: type):
    def register(spec: Any) -> None:
        if not isinstance(spec, spec_type):
            raise GenzooError(f"register_{kind} expects {spec_type.__name__}, got {type(spec).__name__}")
        if spec.name in table:
            owner = table[spec.name].plugin if kind == "models" else "another plugin"
            raise GenzooError(f"{kind[:-1]} name {spec.name!r} is already registered by {owner}")
        if kind == "models":
            table[spec.name] = ModelEntry(
                name=spec.name, spec=spec, plugin=info.name, distribution=info.distribution, source="plugin",
                config=dict(spec.defaults), recipe=dict(spec.recipe), preprocessing=spec.preprocessing,
                data=spec.data, description=spec.description, tags=spec.tags,
            )
        else:
            table[spec.name] = spec
        info.registered.setdefault(kind, []).append(spec.name)

    return register


def _apply_catalog(zoo: Zoo, cat: catalog.Catalog) -> None:
    for plugin, errors in cat.plugin_errors.items():
        info = zoo.plugins.get(plugin)
        if info is None:
            zoo.catalog_notes.extend(errors)
        else:
            info.errors.extend(f"catalog failed: {e}" for e in errors)
    for plugin, declared in cat.plugins.items():
        if plugin in zoo.plugins and declared.get("suites"):
            zoo.plugins[plugin].registered.setdefault("suites", []).extend(declared["suites"])
    for v in cat.variants.values():
        base = zoo.models.get(v.model)
        if base is None:
            zoo.catalog_notes.append(f"variant {v.name!r} ({v.origin}) needs model {v.model!r}, "
                                     "which no plugin registers; skipped")
            continue
        if v.name in zoo.models:
            zoo.catalog_notes.append(f"variant {v.name!r} ({v.origin}) clashes with a registered model; skipped")
            continue
        try:
            preprocessing = from_dict(Preprocessing, v.preprocessing, where=f"{v.path}: {v.name}.preprocessing",
                                      base=base.preprocessing)
        except GenzooError as exc:
            zoo.catalog_notes.append(str(exc))
            continue
        zoo.models[v.name] = dataclasses.replace(
            base,
            name=v.name,
            source=f"zoo.toml ({v.origin})",
            config={**base.config, **v.config},
            recipe={**base.recipe, **v.train},
            preprocessing=preprocessing,
            data=v.data or base.data,
            description=v.description or base.description,
            hub=v.hub,
            tags=tuple(dict.fromkeys(base.tags + v.tags)),
        )
        if v.plugin in zoo.plugins:
            zoo.plugins[v.plugin].registered.setdefault("variants", []).append(v.name)


@cache
def get_zoo() -> Zoo:
    """Load every plugin and the catalog once per process."""
    manager = PluginManager()
    manager.load_entry_points()
    zoo = Zoo(plugins=manager.plugins, manager=manager)
    tables = {
        "models": (zoo.models, ModelSpec),
        "datasets": (zoo.datasets, DatasetSpec),
        "metrics": (zoo.metrics, MetricSpec),
        "feature_extractors": (zoo.extractors, ExtractorSpec),
        "importers": (zoo.importers, ImporterSpec),
    }
    for kind, (table, spec_type) in tables.items():
        manager.call(
            f"register_{kind}",
            lambda info, k=kind, t=table, s=spec_type: _registrar(zoo, info, k, t, s),
            lambda info, k=kind, t=table: [t.pop(name, None) for name in info.registered.pop(k, [])],
        )
    _apply_catalog(zoo, catalog.load())
    return zoo
