"""zoo.toml: the catalog of named variants (and, later, datasets, hub locations and suites).

The catalog shipped with genzoo sits beside this module; ``GENZOO_CATALOG`` may name more
files (separated by the OS path separator) whose entries add to or replace the shipped
ones, so a team can keep its own variants without forking the package. Parsing needs no
torch and validates the shape of each entry; config values are type-checked against the
family's dataclass when the model is built or shown.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genzoo.core.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SHIPPED = Path(__file__).with_name("zoo.toml")
_VARIANT_KEYS = {"model", "description", "data", "config", "train", "preprocessing", "hub", "tags"}


@dataclass(frozen=True)
class Variant:
    name: str
    model: str
    path: str
    description: str = ""
    data: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)
    preprocessing: dict[str, Any] = field(default_factory=dict)
    hub: str = ""
    tags: tuple[str, ...] = ()


@dataclass
class Catalog:
    variants: dict[str, Variant] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    raw: dict[str, dict[str, Any]] = field(default_factory=dict)


def catalog_files() -> list[Path]:
    extra = [Path(p) for p in os.environ.get("GENZOO_CATALOG", "").split(os.pathsep) if p]
    return [SHIPPED, *extra]


def _variant(name: str, table: Any, path: Path) -> Variant:
    where = f"{path}: [models.{name}]"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table.")
    unknown = set(table) - _VARIANT_KEYS
    if unknown:
        raise ConfigError(f"{where} has unknown keys {sorted(unknown)}; allowed: {', '.join(sorted(_VARIANT_KEYS))}.")
    if not isinstance(table.get("model"), str):
        raise ConfigError(f"{where} needs model = \"NAME\" (the registered model it refines).")
    for key in ("config", "train", "preprocessing"):
        if not isinstance(table.get(key, {}), dict):
            raise ConfigError(f"{where}.{key} must be a table of field = value.")
    return Variant(
        name=name, model=table["model"], path=path.name, description=table.get("description", ""),
        data=table.get("data", ""), config=dict(table.get("config", {})), train=dict(table.get("train", {})),
        preprocessing=dict(table.get("preprocessing", {})), hub=table.get("hub", ""),
        tags=tuple(table.get("tags", ())),
    )


def load(paths: list[Path] | None = None) -> Catalog:
    cat = Catalog()
    for path in paths if paths is not None else catalog_files():
        if not path.exists():
            if path != SHIPPED:
                raise ConfigError(f"catalog file {path} (from GENZOO_CATALOG) does not exist.")
            continue
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}") from None
        cat.files.append(path)
        for section, body in doc.items():
            if not isinstance(body, dict):
                raise ConfigError(f"{path}: top-level key {section!r} must be a table.")
            cat.raw.setdefault(section, {}).update(body)
        for name, table in doc.get("models", {}).items():
            cat.variants[name] = _variant(name, table, path)
    return cat
