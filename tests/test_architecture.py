"""The package's shape, checked from the sources (stdlib ast; no import-linter needed): no import cycles,
imports point down the layers, nothing but a plugin uses the root facade, plugins stay apart, every import
inside a function says why it is there, and listing the zoo imports no torch.

The layers are read from the import-linter layers contract in pyproject.toml, so `tools/lint_imports.sh`
and this file enforce one order; a new subpackage fails here until it has a place in it.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def load_import_graph():
    """tools/import_graph.py, the one copy of the graph code (bench/structure.py loads it too)."""
    spec = importlib.util.spec_from_file_location("import_graph", ROOT / "tools" / "import_graph.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["import_graph"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


graph_tools = load_import_graph()
FILES = graph_tools.module_files(ROOT)
EDGES = list(graph_tools.import_edges(ROOT))
CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]["contracts"]


def contract(kind: str, name_start: str = "") -> dict:
    found = [c for c in CONTRACTS if c["type"] == kind and c["name"].startswith(name_start)]
    assert len(found) == 1, f"pyproject.toml should hold one {kind} contract named {name_start!r}..."
    return found[0]


LAYERS = [[part.strip() for part in layer.split("|")] for layer in contract("layers")["layers"]]
RANK = {package: len(LAYERS) - i for i, layer in enumerate(LAYERS) for package in layer}
"""Layer package -> its height (genzoo.core is 1); packages sharing a height are independent siblings."""


def is_plugin(module: str) -> bool:
    return module.startswith("genzoo.plugins.") or module == "genzoo.plugins"


def layer_of(module: str) -> str | None:
    """The layers-contract package a module belongs to (None for the facade and the plugins)."""
    return next((p for p in RANK if module == p or module.startswith(p + ".")), None)


def where(edge) -> str:
    return f"{edge.where(ROOT)}: {edge.importer} imports {edge.target}"


def report(problems: list[str], rule: str, what: str = "import(s)") -> str:
    return f"{len(problems)} {what} break the rule: {rule}\n  " + "\n  ".join(problems)


def test_the_sources_are_read() -> None:
    assert {"genzoo", "genzoo.cli.main", "genzoo.zoo.assembly", "genzoo.core.trainer", "genzoo.plugins.dcgan"} <= set(
        FILES)
    assert len(EDGES) > 100  # the graph is real, not empty because of a path mix-up


def test_no_import_cycles() -> None:
    graph = graph_tools.module_graph(ROOT)
    found = graph_tools.cycles(graph)
    described = []
    for component in found:
        members = set(component)
        imports = [f"\n      {where(e)}" for e in EDGES if e.importer in members and e.target in members]
        described.append("cycle among " + ", ".join(component) + ":" + "".join(imports))
    assert not found, report(described, "no import cycle between genzoo modules (imports under TYPE_CHECKING and "
                                        "inside functions count too)", "group(s) of modules")


def test_every_module_has_a_layer() -> None:
    """cli, benchmark, training, ... each name a package; a module outside them all is in no contract."""
    homeless = [f"{FILES[m].relative_to(ROOT)}: {m}" for m in FILES
                if m != "genzoo" and not is_plugin(m) and layer_of(m) is None]
    assert not homeless, report(homeless, "every genzoo module belongs to a layer of the layers contract in "
                                          "pyproject.toml (add its subpackage there)")


def test_imports_point_down_the_layers() -> None:
    order = " > ".join(" | ".join(layer) for layer in LAYERS)
    bad = []
    for e in EDGES:
        here, there = layer_of(e.importer), layer_of(e.target)
        if here is None or there is None or here == there:
            continue
        if RANK[there] > RANK[here]:
            bad.append(f"{where(e)} ({there} is above {here})")
        elif RANK[there] == RANK[here]:
            bad.append(f"{where(e)} ({here} and {there} are independent siblings)")
    assert not bad, report(bad, f"imports only point down: {order}")


def test_only_plugins_import_the_root_facade() -> None:
    """`import genzoo` or `from genzoo import X` (X not a module) inside genzoo: import from the owning module."""
    bad = [where(e) for e in EDGES if e.target == "genzoo" and e.importer != "genzoo" and not is_plugin(e.importer)]
    assert not bad, report(bad, "no genzoo module but a plugin imports the root facade `genzoo`")


def test_plugins_use_core_and_the_facade_only() -> None:
    bad = []
    for e in EDGES:
        if not is_plugin(e.importer):
            continue
        own = ".".join(e.importer.split(".")[:3])
        if not (e.target in ("genzoo", own) or e.target.startswith((own + ".", "genzoo.core."))
                or e.target == "genzoo.core"):
            bad.append(where(e))
    assert not bad, report(bad, "a plugin imports genzoo.core, the root facade and its own modules only")


def test_core_imports_only_core() -> None:
    bad = [where(e) for e in EDGES if layer_of(e.importer) == "genzoo.core" and layer_of(e.target) != "genzoo.core"]
    assert not bad, report(bad, "genzoo.core imports nothing else of genzoo")


def test_no_two_modules_share_a_name() -> None:
    """Outside the plugins (where every family has its config.py and model.py by design), a module's or
    package's last name says what it holds, once: `evaluation` cannot be a package and a core module."""
    names: dict[str, list[str]] = {}
    for module in FILES:
        if module != "genzoo" and not is_plugin(module) and not module.endswith("__main__"):
            names.setdefault(module.rsplit(".", 1)[1], []).append(module)
    shared = [f"{name}: {', '.join(sorted(mods))}" for name, mods in sorted(names.items()) if len(mods) > 1]
    assert not shared, report(shared, "no two modules or packages share a name", "name(s)")


def test_the_import_linter_contracts_cover_every_package() -> None:
    """The contracts CI runs name every subpackage, so none escapes them."""
    packages = sorted({".".join(m.split(".")[:2]) for m in FILES if m != "genzoo" and not is_plugin(m)})
    assert sorted(RANK) == packages, f"the layers contract names {sorted(RANK)}; genzoo's packages are {packages}"
    core = contract("forbidden", "core knows")
    assert core["source_modules"] == ["genzoo.core"]
    assert sorted(core["forbidden_modules"]) == sorted([p for p in packages if p != "genzoo.core"] + ["genzoo.plugins"])
    facade = contract("forbidden", "no module but a plugin")
    assert facade["forbidden_modules"] == ["genzoo"] and facade["as_packages"] is False
    assert sorted(facade["source_modules"]) == sorted(
        ["genzoo.__main__"] + [m for p in packages if p != "genzoo.__main__" for m in (p, p + ".**")])
    plugins = contract("forbidden", "plugins use")
    assert sorted(plugins["forbidden_modules"]) == [p for p in packages if p != "genzoo.core"]
    assert contract("independence")["modules"] == ["genzoo.plugins.*"]


def test_no_private_module_of_another_package_is_imported() -> None:
    """Only public APIs of dependencies (e.g. huggingface_hub's, not its _tree_cache)."""
    bad = []
    for path in FILES.values():
        for node in ast.walk(ast.parse(path.read_bytes(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            else:
                continue
            bad += [f"{path.relative_to(ROOT)}:{node.lineno}: {name}" for name in names
                    if name.split(".")[0] not in ("genzoo", "__future__")
                    and any(part.startswith("_") for part in name.split("."))]
    assert not bad, report(bad, "genzoo imports no private module of another package")


def test_function_level_imports_say_why() -> None:
    """An import inside a function is there to keep `genzoo list` free of torch (or another slow or optional
    library): a comment on the line above its block of imports, or a trailing one, says which."""
    bad = [f"{path.relative_to(ROOT)}:{line}: {path.read_text(encoding='utf-8').splitlines()[line - 1].strip()}"
           for module, path in FILES.items() if not is_plugin(module)
           for line in graph_tools.unexplained_imports(path)]
    assert not bad, report(bad, "a function-level import in registry/ or core/ carries a reason comment on the line "
                                "above it (or its block), e.g. `# Deferred: imports torch; genzoo list must not`")


def torch_chain(importtime: str) -> list[str]:
    """From `python -X importtime` output, the chain of imports that first pulled torch in, outermost first."""
    rows = [re.match(r"import time:\s+\d+ \|\s+\d+ \|( *)(\S+)", line) for line in importtime.splitlines()]
    rows = [(len(m.group(1)), m.group(2)) for m in rows if m]
    for i, (depth, name) in enumerate(rows):
        if name == "torch" or name.startswith("torch."):
            chain, level = [name], depth
            for outer_depth, outer in rows[i + 1 :]:  # a module is printed after everything it imported
                if outer_depth < level:
                    chain.append(outer)
                    level = outer_depth
            chain = chain[::-1]
            return chain[: next(i for i, n in enumerate(chain) if n.split(".")[0] == "torch") + 1]
    return []


@pytest.mark.parametrize("args", [["list"], ["--help"], ["info", "dcgan-mnist"], ["plugins"], ["list", "--json"],
                                  ["bench", "list"], ["info", "glow-mnist"], ["tune", "--help"]])
def test_listing_and_help_import_no_torch(args: list[str]) -> None:
    """What the genzoo command runs for these imports no torch (nor, through it, any model code)."""
    env = {**os.environ, "COLUMNS": "120"}
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "genzoo", *args], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    chain = torch_chain(out.stderr)
    assert not chain, f"`genzoo {' '.join(args)}` imported torch: " + " -> ".join(chain)


def test_every_bench_script_imports() -> None:
    """The bench scripts import one another's helpers (families -> reference_image2image -> ...), and no
    test runs them: a helper that moved (2da08bd) left three of them failing at import for days."""
    scripts = sorted(p.stem for p in (ROOT / "bench").glob("*.py"))
    code = ("import importlib, sys, traceback\nsys.path.insert(0, 'bench')\n"
            f"for name in {scripts!r}:\n"
            "    try:\n        importlib.import_module(name)\n"
            "    except Exception:\n        print(name, traceback.format_exc(limit=-1).strip().splitlines()[-1])\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout == "", out.stdout + out.stderr
