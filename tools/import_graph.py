"""genzoo's import graph, read from the sources alone (stdlib ``ast``; nothing is imported or installed).

Modules are named as setuptools maps the folders: registry/ -> genzoo, core/ -> genzoo.core,
plugins/ -> genzoo.plugins. Every import statement counts, at module level, under ``if TYPE_CHECKING:``
and inside functions alike. tests/test_architecture.py checks the layering with it and
bench/structure.py reports its figures; both load this one file.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOTS = {"registry": "genzoo", "core": "genzoo.core", "plugins": "genzoo.plugins"}
IMPORTS = (ast.Import, ast.ImportFrom)
SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


@dataclass(frozen=True)
class Edge:
    """One imported genzoo module of one import statement: ``path:line`` in ``importer`` names ``target``."""

    importer: str
    target: str
    path: Path
    line: int
    in_function: bool

    def where(self, tree: Path) -> str:
        path = self.path.relative_to(tree) if self.path.is_relative_to(tree) else self.path
        return f"{path}:{self.line}"


def py_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.relative_to(folder).parts)


def module_files(tree: Path) -> dict[str, Path]:
    """Module name -> file for every .py under registry/, core/ and plugins/, as setuptools maps them."""
    files = {}
    for root, package in ROOTS.items():
        for path in py_files(tree / root) if (tree / root).is_dir() else []:
            rel = path.relative_to(tree / root)
            parts = [package, *rel.parts[:-1]] + ([] if rel.stem == "__init__" else [rel.stem])
            files[".".join(parts)] = path
    return files


def top_level(body: list) -> Iterator[ast.AST]:
    """Module-level statements, looking inside if/try/with/for/while/match blocks but not into def or class."""
    for stmt in body:
        yield stmt
        if not isinstance(stmt, SCOPES):
            for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                yield from top_level(getattr(stmt, field, []))


def function_level(module: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """The import statements inside a def or class body, in source order."""
    outer = {id(stmt) for stmt in top_level(module.body)}
    found = [node for node in ast.walk(module) if isinstance(node, IMPORTS) and id(node) not in outer]
    return sorted(found, key=lambda node: (node.lineno, node.col_offset))


def function_level_imports(path: Path) -> int:
    return len(function_level(ast.parse(path.read_bytes(), str(path))))


def import_edges(tree: Path) -> Iterator[Edge]:
    """Every (importer, imported genzoo module) pair, with the statement's file and line.

    ``from a import b`` names a.b when that module exists, else a (so ``from genzoo import X`` for a
    name X that is not a module names the root package ``genzoo``, the facade). A target may be a
    module that does not exist (an unresolved import)."""
    files = module_files(tree)
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        module = ast.parse(path.read_bytes(), str(path))
        inner = {id(node) for node in function_level(module)}
        for node in ast.walk(module):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")
                    base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            else:
                continue
            for target in dict.fromkeys(targets):
                if target == "genzoo" or target.startswith("genzoo."):
                    yield Edge(name, target, path, node.lineno, id(node) in inner)


def import_targets(tree: Path) -> Iterator[tuple[str, str]]:
    """(importer, imported genzoo module) for every import statement; see ``import_edges``."""
    for edge in import_edges(tree):
        yield edge.importer, edge.target


def module_graph(tree: Path) -> dict[str, set[str]]:
    """Importer -> genzoo modules it imports; no implicit edges to parent packages, none to missing modules."""
    graph: dict[str, set[str]] = {name: set() for name in module_files(tree)}
    for importer, target in import_targets(tree):
        if target in graph and target != importer:
            graph[importer].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (iterative Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    work: list[tuple[str, Iterator[str]]] = []

    def enter(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        work.append((node, iter(sorted(graph.get(node, ())))))

    for root in sorted(graph):
        if root in index:
            continue
        enter(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    enter(child)
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while not component or component[-1] != node:
                        component.append(stack.pop())
                        on_stack.discard(component[-1])
                    if len(component) > 1:
                        found.append(sorted(component))
    return sorted(found)


def import_blocks(module: ast.Module) -> Iterator[list[ast.Import | ast.ImportFrom]]:
    """Runs of consecutive import statements in one block (blank lines between them allowed)."""
    for node in ast.walk(module):
        for field in ("body", "orelse", "finalbody"):
            body = getattr(node, field, None)
            if not isinstance(body, list):  # e.g. a lambda's or an if-expression's body is one expression
                continue
            run: list[ast.Import | ast.ImportFrom] = []
            for stmt in [*body, None]:
                if isinstance(stmt, IMPORTS):
                    run.append(stmt)
                    continue
                if run:
                    yield run
                run = []


PRAGMAS = ("noqa", "type:", "pragma", "fmt:", "isort:")


def is_reason(comment: str) -> bool:
    """A comment that says something: not empty, not a tool's pragma (``# noqa: E402``)."""
    text = comment.strip().lstrip("#").strip()
    return bool(text) and not text.lower().startswith(PRAGMAS)


def unexplained_imports(path: Path) -> list[int]:
    """Lines of function-level imports without a reason: a comment on the line just above their block of
    imports, or a trailing comment on the import itself."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    module = ast.parse(source, str(path))
    inner = {id(node) for node in function_level(module)}
    bad = []
    for block in import_blocks(module):
        if id(block[0]) not in inner:
            continue
        above = lines[block[0].lineno - 2].strip() if block[0].lineno > 1 else ""
        if above.startswith("#") and is_reason(above):
            continue
        for node in block:
            trailing = [line.partition("#")[2] for line in lines[node.lineno - 1 : node.end_lineno] if "#" in line]
            if not any(is_reason(comment) for comment in trailing):
                bad.append(node.lineno)
    return sorted(bad)
