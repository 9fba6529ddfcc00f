"""Finding and loading plugins, each in isolation.

Built-in and third-party plugins arrive the same way, through the ``genzoo`` entry-point
group. One plugin failing (at import, or inside one of its hooks) must not take the zoo
down: the failure is recorded against the plugin's name and distribution, reported by
``genzoo plugins`` and as a one-line warning elsewhere, and every other plugin goes on.
That is why hooks are called one implementation at a time instead of through pluggy's
all-or-nothing ``pm.hook.X()``.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

import pluggy

from . import hookspecs

GROUP = "genzoo"


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
        for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
            if ep.name in self.plugins:
                continue  # the same distribution seen twice on sys.path
            dist = ep.dist
            info = PluginInfo(
                name=ep.name,
                module=ep.value,
                distribution=dist.metadata["Name"] if dist else "",
                version=dist.version if dist else "",
            )
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
