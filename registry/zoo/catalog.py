"""zoo.toml: the catalog of named variants, benchmark suites and search spaces (``[tune.NAME]``).

The catalog is read from, in order: the zoo.toml shipped with genzoo (at the package root);
the zoo.toml each plugin may ship beside the module its entry point names; then the files
``GENZOO_CATALOG`` names (separated by the OS path separator). A later file's entries add to
or replace earlier ones, so a team can keep its own variants, or override a plugin's, without
forking anything. A plugin's catalog only adds names: one that redefines a name an earlier
file declared, or that is broken (bad TOML, unknown keys), is skipped whole and its error
recorded against the plugin, so one bad plugin never takes the zoo down. Parsing needs no
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

from .plugin_manager import PluginCatalog, plugin_catalogs

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SHIPPED = Path(__file__).parents[1] / "zoo.toml"  # the package root: setuptools ships it there
_VARIANT_KEYS = {"model", "description", "data", "config", "train", "preprocessing", "hub", "tags"}
_PLUGIN_SECTIONS = ("models", "suites", "tune")  # what a plugin's own zoo.toml may declare


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
    plugin: str = ""
    """The plugin whose own zoo.toml declares this variant; "" for genzoo's and $GENZOO_CATALOG files."""

    @property
    def origin(self) -> str:
        """Where the variant was declared, for listings and messages: the file (and the plugin shipping it)."""
        return f"{self.path}, plugin {self.plugin}" if self.plugin else self.path


@dataclass
class Catalog:
    variants: dict[str, Variant] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    """Every file loaded, in order (later ones win): zoo.toml, plugins' zoo.toml, $GENZOO_CATALOG files."""
    raw: dict[str, dict[str, Any]] = field(default_factory=dict)
    origins: dict[str, dict[str, Path]] = field(default_factory=dict)
    """Per section, per name: the file whose declaration is in ``raw`` (the last one to declare it)."""
    plugins: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    """Per plugin whose zoo.toml loaded: the names it declared per section ("models", "suites")."""
    plugin_errors: dict[str, list[str]] = field(default_factory=dict)
    """Per plugin whose zoo.toml was skipped: why."""


def user_files() -> list[Path]:
    """The files $GENZOO_CATALOG names."""
    return [Path(p) for p in os.environ.get("GENZOO_CATALOG", "").split(os.pathsep) if p]


def _variant(name: str, table: Any, path: Path, shown: str = "", plugin: str = "") -> Variant:
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
        name=name, model=table["model"], path=shown or path.name, plugin=plugin,
        description=table.get("description", ""), data=table.get("data", ""), config=dict(table.get("config", {})),
        train=dict(table.get("train", {})), preprocessing=dict(table.get("preprocessing", {})),
        hub=table.get("hub", ""), tags=tuple(table.get("tags", ())),
    )


def _read(path: Path) -> dict[str, Any]:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    for section, body in doc.items():
        if not isinstance(body, dict):
            raise ConfigError(f"{path}: top-level key {section!r} must be a table.")
    return doc


def _add(cat: Catalog, doc: dict[str, Any], path: Path, variants: dict[str, Variant]) -> None:
    cat.files.append(path)
    for section, body in doc.items():
        cat.raw.setdefault(section, {}).update(body)
        cat.origins.setdefault(section, {}).update(dict.fromkeys(body, path))
    cat.variants.update(variants)


def _load_user(cat: Catalog, path: Path) -> None:
    if not path.exists():
        if path == SHIPPED:
            return
        raise ConfigError(f"catalog file {path} (from GENZOO_CATALOG) does not exist.")
    doc = _read(path)
    _add(cat, doc, path, {name: _variant(name, table, path) for name, table in doc.get("models", {}).items()})


def _load_plugin(cat: Catalog, pc: PluginCatalog, owners: dict[tuple[str, str], str]) -> None:
    """A plugin's zoo.toml, checked whole before any of it is added: it adds names, never replaces them."""
    path = pc.path
    doc = _read(path)
    unknown = sorted(set(doc) - set(_PLUGIN_SECTIONS))
    if unknown:
        raise ConfigError(f"{path}: unknown top-level tables {unknown}; a plugin's zoo.toml may declare only "
                          "[models.NAME] variants, [suites.NAME] suites and [tune.NAME] search spaces.")
    for section, body in doc.items():
        for name, table in body.items():
            if not isinstance(table, dict):
                raise ConfigError(f"{path}: [{section}.{name}] must be a table.")
            if (section, name) in owners:
                raise ConfigError(f"{path}: [{section}.{name}] is already declared by {owners[section, name]}; "
                                  "a plugin's zoo.toml may add names but not replace them (rename it).")
    shown = f"{path.parent.name}/{path.name}"
    variants = {name: _variant(name, table, path, shown, pc.plugin) for name, table in doc.get("models", {}).items()}
    _add(cat, doc, path, variants)
    cat.plugins[pc.plugin] = {section: list(body) for section, body in doc.items() if body}


def load(paths: list[Path] | None = None) -> Catalog:
    """The catalog from ``paths``, or by default from zoo.toml, each plugin's zoo.toml and $GENZOO_CATALOG.

    A missing or broken $GENZOO_CATALOG file (or one of ``paths``) raises ConfigError; a broken plugin
    catalog is skipped and recorded in ``plugin_errors`` instead.
    """
    cat = Catalog()
    if paths is not None:
        for path in paths:
            _load_user(cat, path)
        return cat
    _load_user(cat, SHIPPED)
    owners = {(section, name): "genzoo's zoo.toml" for section, body in cat.raw.items() for name in body}
    for pc in plugin_catalogs():
        if pc.path.resolve() == SHIPPED.resolve():
            continue
        try:
            _load_plugin(cat, pc, owners)
        except ConfigError as exc:
            cat.plugin_errors.setdefault(pc.plugin, []).append(str(exc))
            continue
        owners.update({(section, name): f"plugin {pc.plugin!r} ({pc.path.parent.name}/{pc.path.name})"
                       for section, names in cat.plugins[pc.plugin].items() for name in names})
    for path in user_files():
        _load_user(cat, path)
    return cat
