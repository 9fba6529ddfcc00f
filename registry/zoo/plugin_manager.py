"""Finding and loading plugins, each in isolation.

Built-in and third-party plugins arrive the same way, through the ``genzoo`` entry-point
group. One plugin failing (at import, or inside one of its hooks) must not take the zoo
down: the failure is recorded against the plugin's name and distribution, reported by
``genzoo plugins`` and as a one-line warning elsewhere, and every other plugin goes on.
That is why hooks are called one implementation at a time instead of through pluggy's
all-or-nothing ``pm.hook.X()``.

A plugin may also ship a catalog: a ``zoo.toml`` beside the module its entry point names
(``plugin_catalogs`` finds it without importing the plugin; genzoo.zoo.catalog loads it).
"""

from __future__ import annotations

import importlib.util
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

import pluggy

from . import hookspecs

GROUP = "genzoo"
CATALOG = "zoo.toml"
"""The file name of a plugin's own catalog, beside the module its entry point names."""


@dataclass
class PluginInfo:
    name: str
    module: str
    distribution: str = ""
    version: str = ""
    registered: dict[str, list[str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def failure(self, where: str, exc: BaseException) -> None:
        self.errors.append(f"{where}: {type(exc).__name__}: {exc}")


@dataclass(frozen=True)
class PluginCatalog:
    """A plugin's own zoo.toml: which plugin (and distribution) ships it, and where it is."""

    plugin: str
    distribution: str
    path: Path


def plugin_entry_points() -> list[EntryPoint]:
    """The ``genzoo`` entry points in loading order: by name, the first of a name seen twice winning."""
    seen: dict[str, EntryPoint] = {}
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        seen.setdefault(ep.name, ep)  # the same distribution seen twice on sys.path
    return list(seen.values())


def _distribution(ep: EntryPoint) -> tuple[str, str]:
    dist = ep.dist
    return (dist.metadata["Name"], dist.version) if dist else ("", "")


def _module_folder(module: str) -> Path | None:
    """The folder holding ``module`` (a package's own folder), found without importing it.

    Finding a submodule imports its parent packages; when one of those fails, the plugin's import
    fails too, and ``load_entry_points`` reports that.
    """
    try:
        spec = importlib.util.find_spec(module)
    except Exception:
        return None
    if spec is None:
        return None
    if spec.has_location and spec.origin:
        return Path(spec.origin).parent
    locations = list(spec.submodule_search_locations or ())  # a namespace package
    return Path(locations[0]) if locations else None


def plugin_catalogs() -> list[PluginCatalog]:
    """Each plugin's zoo.toml, in plugin order; a file shared by two entry points counts once."""
    out: list[PluginCatalog] = []
    seen: set[Path] = set()
    for ep in plugin_entry_points():
        folder = _module_folder(ep.module)
        path = folder / CATALOG if folder is not None else None
        if path is None or not path.is_file() or path.resolve() in seen:
            continue
        seen.add(path.resolve())
        out.append(PluginCatalog(plugin=ep.name, distribution=_distribution(ep)[0], path=path))
    return out


def _one_line(exc: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith("<frozen")]
    where = f" ({frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


class PluginManager:
    """pluggy's manager plus a record of what each plugin loaded and registered."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(GROUP)
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}

    def load_entry_points(self) -> None:
        for ep in plugin_entry_points():
            if ep.name in self.plugins:
                continue
            distribution, version = _distribution(ep)
            info = PluginInfo(name=ep.name, module=ep.value, distribution=distribution, version=version)
            self.plugins[ep.name] = info
            try:
                self.pm.register(ep.load(), name=ep.name)
            except Exception as exc:  # a broken plugin is reported, never fatal
                info.errors.append(f"import failed: {_one_line(exc)}")

    def add(self, module: Any, name: str, distribution: str = "") -> None:
        """Register an already-imported plugin module (used by tests and embedding apps)."""
        self.plugins[name] = PluginInfo(name=name, module=getattr(module, "__name__", name),
                                        distribution=distribution)
        self.pm.register(module, name=name)

    def call(
        self, hook: str, make_arg: Callable[[PluginInfo], Any], undo: Callable[[PluginInfo], None] | None = None
    ) -> None:
        """Call ``hook`` on each plugin separately, handing it an argument made for it alone.

        When a plugin's hook raises, ``undo`` removes what it registered before failing, so a
        half-registered plugin never leaves half a model family behind.
        """
        for impl in getattr(self.pm.hook, hook).get_hookimpls():
            info = self.plugins.get(impl.plugin_name) or PluginInfo(impl.plugin_name, impl.plugin_name)
            try:
                impl.function(*([make_arg(info)] if impl.argnames else []))
            except Exception as exc:
                info.errors.append(f"{hook} failed: {_one_line(exc)}")
                if undo is not None:
                    undo(info)

    def warn_failures(self) -> None:
        """One line per broken plugin on stderr, for commands other than ``genzoo plugins``."""
        for info in self.plugins.values():
            if not info.ok:
                dist = f" (distribution {info.distribution})" if info.distribution else ""
                print(f"warning: plugin {info.name!r}{dist} is broken: {info.errors[0]}", file=sys.stderr)
