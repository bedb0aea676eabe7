"""The import graph of server/ and streaming/: no circles, and the layers point one way.

Imports are read with ``ast`` (module level and inside functions, the lazy imports that hide a
circle at run time); imports under ``if TYPE_CHECKING:`` are left out: they never run.
"""

from __future__ import annotations

import ast
from collections.abc import Collection
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("server", "streaming")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported_names(
    tree: ast.AST, module: str, is_package: bool, modules: Collection[str] = ()
) -> set[str]:
    """Every module ``module`` imports when it runs, TYPE_CHECKING blocks left out.

    ``from package import submodule`` counts as an import of the submodule only: the package
    itself is being imported already (Python runs a package before any of its modules).
    """
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in modules else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def import_graph() -> dict[str, set[str]]:
    files = [
        p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py") if "migrations" not in p.parts
    ]
    modules = {module_name(p): p for p in files}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        raw = imported_names(tree, name, path.name == "__init__.py", modules)
        graph[name] = {m for m in raw if m in modules and m != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as a list of modules (first == last), or None."""
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(graph, white)
    stack: list[str] = []

    def dfs(node: str) -> list[str] | None:
        colour[node] = grey
        stack.append(node)
        for nxt in sorted(graph[node]):
            if colour[nxt] == grey:
                return [*stack[stack.index(nxt) :], nxt]
            if colour[nxt] == white and (cycle := dfs(nxt)):
                return cycle
        stack.pop()
        colour[node] = black
        return None

    for start in sorted(graph):
        if colour[start] == white and (cycle := dfs(start)):
            return cycle
    return None


def test_finds_a_circle_when_there_is_one() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert find_cycle(graph) == ["a", "b", "c", "a"]


def test_reads_function_level_imports_and_skips_type_checking() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from server.x import Y\n"
        "def f() -> None:\n    from server.z import W\n"
    )
    names = imported_names(ast.parse(source), "server.m", is_package=False)
    assert "server.z" in names
    assert "server.x" not in names


def test_no_import_circle_in_server_or_streaming() -> None:
    assert find_cycle(import_graph()) is None


def test_realtime_does_not_import_the_api() -> None:
    graph = import_graph()
    offenders = sorted(
        (mod, dep)
        for mod, deps in graph.items()
        if mod.startswith("server.realtime")
        for dep in deps
        if dep == "server.api" or dep.startswith("server.api.")
    )
    assert offenders == []


def test_domain_and_streaming_stay_below_the_adapters() -> None:
    graph = import_graph()
    offenders = sorted(
        (mod, dep)
        for mod, deps in graph.items()
        if mod.startswith(("server.domain", "streaming"))
        for dep in deps
        if dep.startswith(("server.api", "server.realtime", "server.db", "server.services"))
    )
    assert offenders == []
