"""Code-structure figures of genzoo checkouts, printed as one Markdown table (a column per TREE).

Written for the issue "registry/ as subpackages": the before and after figures in bench/RESULTS.md come from it.

    python bench/structure.py [TREE ...] [--python PATH --pythonpath DIR] [--repeats N]

The static figures read the sources only (stdlib, no genzoo import). Runtime uses TREE/.venv, an editable install
of that tree; a tree without one is timed with --python/--pythonpath when given (an interpreter holding genzoo's
dependencies and entry points, and a folder with a `genzoo` package copied from the tree: registry/* -> genzoo/,
core -> genzoo/core, plugins -> genzoo/plugins), else skipped with a note. An inherited PYTHONPATH is dropped.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import os
import re
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

# The import graph helpers live in tools/import_graph.py, shared with tests/test_architecture.py.
_GRAPH = Path(__file__).resolve().parents[1] / "tools" / "import_graph.py"
_spec = importlib.util.spec_from_file_location("import_graph", _GRAPH)
import_graph = importlib.util.module_from_spec(_spec)
sys.modules["import_graph"] = import_graph  # dataclasses look their module up by name
_spec.loader.exec_module(import_graph)
cycles, function_level_imports = import_graph.cycles, import_graph.function_level_imports
import_targets, module_files = import_graph.import_targets, import_graph.module_files
module_graph, py_files = import_graph.module_graph, import_graph.py_files

PROBE = (
    "import sys\nfrom genzoo.cli import main\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
    "import genzoo\nprint('PROBE', 'torch' in sys.modules, genzoo.__file__, file=sys.stderr)"
)
RUNTIME_ROWS = ["`genzoo list`", "`python -c 'import torch'`", "`genzoo list` / `import torch`"]
RUNTIME_ROWS += ["`genzoo list` imported torch", "genzoo imported from"]
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.M | re.S)
FILE_NAME = r"[\w./-]+\.(?:py|toml)"


def generated(rel: Path) -> bool:
    return any(part in {"__pycache__", "build", "dist"} or part.endswith(".egg-info") for part in rel.parts)


def lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def static_figures(tree: Path) -> tuple[dict[str, str], list[str], list[str]]:
    rows: dict[str, str] = {}
    sizes: dict[str, list[int]] = {}
    reg = tree / "registry"
    for path in py_files(reg):
        rel = path.relative_to(reg)
        package = len(rel.parts) > 1 and (reg / rel.parts[0] / "__init__.py").exists()
        label = f"registry/{rel.parts[0]}/" if package else "registry/ (top level)"
        sizes.setdefault(label, []).append(lines(path))
    sizes["registry/ total"] = [n for counts in list(sizes.values()) for n in counts]
    for root in ("core", "plugins"):
        sizes[f"{root}/"] = [lines(p) for p in py_files(tree / root)] if (tree / root).is_dir() else []
    for label, counts in sizes.items():  # main() puts the registry/ rows in order
        rows[f"{label}: modules / lines"] = f"{len(counts)} / {sum(counts):,}"
    files = list(module_files(tree).values())
    biggest = max(files, key=lines, default=None)
    rows["largest file (lines)"] = f"`{biggest.relative_to(tree)}` ({lines(biggest):,})" if biggest else "n/a"
    in_functions = {p: function_level_imports(p) for p in files}
    rows["function-level imports, registry+core+plugins"] = str(sum(in_functions.values()))
    rows["function-level imports, registry/"] = str(sum(n for p, n in in_functions.items() if reg in p.parents))
    graph = module_graph(tree)
    found = cycles(graph)
    rows["import graph: modules / edges"] = f"{len(graph)} / {sum(map(len, graph.values()))}"
    rows["import cycles (SCCs > 1 module)"] = f"{len(found)} ({sum(map(len, found))} modules)"
    missing = sorted({f"{importer} -> {target}" for importer, target in import_targets(tree) if target not in graph})
    rows["unresolved genzoo imports"] = str(len(missing))
    return rows, [", ".join(f"`{m}`" for m in component) for component in found], missing


def tail(text: str | bytes | None) -> str:
    text = text.decode(errors="replace") if isinstance(text, bytes) else text or ""
    return " / ".join(line.strip() for line in text.strip().splitlines()[-2:])


def row_order(label: str) -> tuple[int, str]:
    """registry/ (top level), its subpackages by name, registry/ total, then the other rows as first seen."""
    if label.startswith("registry/ "):
        return (0 if "(top level)" in label else 2, "")
    return (1, label) if label.startswith("registry/") else (3, "")


def run_median(cmd: list[str], tree: Path, env: dict[str, str], repeats: int) -> float:
    times = []
    for _ in range(repeats + 1):  # the first run is the warm-up
        start = time.perf_counter()
        subprocess.run(cmd, cwd=tree, env=env, check=True, capture_output=True, timeout=600)
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def runtime_figures(tree: Path, python: Path | None, pythonpath: Path | None, repeats: int) -> tuple[dict, list]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if (tree / ".venv/bin/python").exists():
        python, pythonpath = tree / ".venv/bin/python", None
    elif python is None:
        return dict.fromkeys(RUNTIME_ROWS, "skipped"), ["runtime skipped: no .venv in the tree and no --python given"]
    if pythonpath:
        env["PYTHONPATH"] = str(pythonpath)
    genzoo = python.parent / "genzoo"
    entry = [str(python), "-c", "import sys; from genzoo.cli import main; sys.exit(main())"]
    list_cmd = [str(genzoo), "list"] if genzoo.exists() else [*entry, "list"]
    notes = [
        f"runtime: median of {repeats} runs after a warm-up, `{shlex.join(list_cmd)}` and `{python} -c 'import torch'`"
        + (f", PYTHONPATH={pythonpath}" if pythonpath else "")
    ]
    rows = dict.fromkeys(RUNTIME_ROWS, "n/a")
    try:
        listing = run_median(list_cmd, tree, env, repeats)
        torch = run_median([str(python), "-c", "import torch"], tree, env, repeats)
        rows.update(zip(RUNTIME_ROWS, [f"{listing:.3f} s", f"{torch:.3f} s", f"{listing / torch:.2f}"]))
    except (subprocess.SubprocessError, OSError) as error:
        notes.append(f"timing failed: {error} {tail(getattr(error, 'stderr', None))}")
    try:
        probe = subprocess.run([str(python), "-c", PROBE, "list"], cwd=tree, env=env, capture_output=True, timeout=600)
        err = probe.stderr.decode(errors="replace")
        hit = next((line.split() for line in err.splitlines()[::-1] if line.startswith("PROBE ")), None)
        if hit and len(hit) == 3:
            rows[RUNTIME_ROWS[3]] = "yes" if hit[1] == "True" else "no"
            rows[RUNTIME_ROWS[4]] = f"`{Path(hit[2]).parent}`"
        else:
            notes.append(f"torch probe printed no answer: {tail(err)}")
    except (subprocess.SubprocessError, OSError) as error:
        notes.append(f"torch probe failed: {error}")
    return rows, notes


def family_lines(tree: Path) -> tuple[str, str]:
    """Non-blank lines of the plugin guide's Python/TOML blocks, or of the toy plugin when there is no guide."""
    guide = tree / "docs/plugin-guide.md"
    if guide.exists():
        text = guide.read_text(encoding="utf-8")
        per_file: dict[str, int] = {}
        for match in FENCE.finditer(text):
            if match.group(1).lower() not in {"python", "py", "toml"}:
                continue
            code = [line for line in match.group(2).splitlines() if line.strip()]
            named = re.fullmatch(rf"#\s*({FILE_NAME})\s*", code[0].strip()) if code else None
            if named:
                code = code[1:]
            else:
                before = [line for line in text[: match.start()].splitlines() if line.strip()]
                named = re.search(f"({FILE_NAME})", before[-1]) if before else None
            name = named.group(1) if named else "(unnamed blocks)"
            per_file[name] = per_file.get(name, 0) + len(code)
        detail = "; ".join(f"`{name}` {n}" for name, n in per_file.items()) or "no python/toml blocks"
        return str(sum(per_file.values())), f"docs/plugin-guide.md code blocks: {detail}"
    toy = tree / "tests/plugins/genzoo-toy"
    if not toy.is_dir():
        return "n/a", "neither docs/plugin-guide.md nor tests/plugins/genzoo-toy"
    files = sorted(p for p in toy.rglob("*") if p.is_file() and not generated(p.relative_to(toy)))
    count = sum(1 for p in files for line in p.read_text(encoding="utf-8").splitlines() if line.strip())
    names = ", ".join(str(p.relative_to(toy)) for p in files)
    return f"{count} (toy plugin)", f"no docs/plugin-guide.md; fallback tests/plugins/genzoo-toy, all files: {names}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("trees", nargs="*", type=Path, metavar="TREE", help="checkout roots (default: this repo)")
    parser.add_argument("--python", type=Path, help="interpreter for trees without their own .venv")
    parser.add_argument("--pythonpath", type=Path, help="PYTHONPATH for trees without their own .venv")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per command, after one warm-up")
    args = parser.parse_args()
    trees = args.trees or [Path(__file__).resolve().parent.parent]
    python = args.python.absolute() if args.python else None
    pythonpath = args.pythonpath.absolute() if args.pythonpath else None
    uname, load = os.uname(), ", ".join(f"{x:.2f}" for x in os.getloadavg())  # taken before the timed runs
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    columns, sections = [], []
    for tree in trees:
        rows, found, missing = static_figures(tree.absolute())
        timing, notes = runtime_figures(tree.absolute(), python, pythonpath, args.repeats)
        family, source = family_lines(tree.absolute())
        columns.append(rows | timing | {"lines a new family needs": family})
        unresolved = [f"unresolved imports (no such module): {', '.join(missing)}"] if missing else []
        sections.append((tree, found, [*unresolved, *notes, source]))
    print("# genzoo code structure\n")
    print(f"Command: `{shlex.join(sys.orig_argv)}` (cwd `{Path.cwd()}`)  ")
    print(
        f"Date: {now}; machine: `{uname.sysname} {uname.release} {uname.machine}`, {os.cpu_count()} CPUs, "
        f"load average {load}; Python {sys.version.split()[0]}\n"
    )
    print("| figure | " + " | ".join(f"`{tree}`" for tree in trees) + " |\n|---|" + "---:|" * len(trees))
    for label in sorted(dict.fromkeys(label for rows in columns for label in rows), key=row_order):
        print(f"| {label} | " + " | ".join(rows.get(label, "–") for rows in columns) + " |")
    for tree, found, notes in sections:
        print(f"\n## `{tree}`\n\nImport cycles: {len(found) or 'none'}")
        print("".join(f"{number}. {members}\n" for number, members in enumerate(found, 1)))
        print("\n".join(f"- {note}" for note in notes))


if __name__ == "__main__":
    main()
