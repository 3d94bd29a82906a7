"""The house rules, read off the import graph of the product code (function-level imports
included): no import cycle, no private name imported from another module, and each layer
imports only what it may (a driver knows nothing of HTTP, a facade no SQL, contracts
neither, the demo is off the production path).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# the folders as setup.cfg installs them
FOLDERS = {
    "legacy_bridge": "legacy_bridge",
    "drivers": "legacy_bridge.drivers",
    "facades": "legacy_bridge.facades",
    "contracts": "legacy_bridge.contracts",
}


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([FOLDERS[parts[0]]] + parts[1:])


def _graph() -> tuple[dict[str, set[str]], dict[str, set[str]], list[str]]:
    """(module -> project modules it imports, module -> third-party top-level names, private imports)."""
    files = {_module(p): p for folder in FOLDERS for p in (ROOT / folder).rglob("*.py")}
    ours, theirs, private = {m: set() for m in files}, {m: set() for m in files}, []

    def known(name: str) -> str | None:
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name or None

    for module, path in files.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [(a.name, None) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                targets = [(f"{base}.{a.name}" if f"{base}.{a.name}" in files else base, a.name) for a in node.names]
            else:
                continue
            for target, name in targets:
                if target.split(".")[0] != "legacy_bridge":
                    theirs[module].add(target.split(".")[0])
                    continue
                found = known(target)
                if found and found != module:
                    ours[module].add(found)
                    if name and name.startswith("_") and not name.startswith("__") and found == target:
                        private.append(f"{module} imports {name} from {found}")
    return ours, theirs, private


GRAPH, THIRD_PARTY, PRIVATE = _graph()


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan).  A package's
    ``__init__`` is glue that re-exports its modules: its own imports do not count."""
    edges = {m: set() if _is_package(m) else e for m, e in edges.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def _is_package(module: str) -> bool:
    return any(other.startswith(module + ".") for other in GRAPH)


def test_there_is_no_import_cycle():
    assert _cycles(GRAPH) == []


def test_no_module_imports_a_private_name_of_another():
    assert PRIVATE == []


def _importers(prefix: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{m} imports {t}"
        for m, targets in GRAPH.items()
        if m.startswith(prefix)
        for t in targets
        if t.startswith(forbidden)
    )


@pytest.mark.parametrize(
    "layer, forbidden",
    [
        (
            "legacy_bridge.drivers",
            (
                "legacy_bridge.facades",
                "legacy_bridge.security",
                "legacy_bridge.cli",
                "legacy_bridge.app",
                "legacy_bridge.problems",
                "legacy_bridge.resources",
            ),
        ),
        ("legacy_bridge.contracts", ("legacy_bridge.drivers", "legacy_bridge.facades")),
        ("legacy_bridge.facades", ("legacy_bridge.drivers.odbc", "legacy_bridge.cli")),
        # the command line runs the query path in-process: through query/ and resources, not facade code
        ("legacy_bridge.cli.export", ("legacy_bridge.facades",)),
        # the canonical request and its planner know neither HTTP nor a facade
        ("legacy_bridge.query", ("legacy_bridge.facades", "legacy_bridge.app", "legacy_bridge.cli")),
    ],
)
def test_each_layer_imports_only_what_it_may(layer, forbidden):
    assert _importers(layer, forbidden) == []


@pytest.mark.parametrize(
    "layer, packages",
    [
        ("legacy_bridge.drivers", ("flask", "werkzeug")),  # a driver knows nothing of HTTP
        ("legacy_bridge.facades", ("pyodbc", "sqlalchemy")),  # a facade writes no SQL
        ("legacy_bridge.contracts", ("flask", "pyodbc", "zeep")),
    ],
)
def test_layers_do_not_reach_for_the_wrong_libraries(layer, packages):
    assert (
        sorted(
            f"{m} imports {p}"
            for m, names in THIRD_PARTY.items()
            if m.startswith(layer)
            for p in names
            if p in packages
        )
        == []
    )


def test_the_demo_is_off_the_production_path():
    production = [m for m in GRAPH if not m.startswith(("legacy_bridge.demo", "legacy_bridge.cli"))]
    assert sorted(f"{m} imports {t}" for m in production for t in GRAPH[m] if t.startswith("legacy_bridge.demo")) == []
    assert sorted(m for m in production if "spyne" in THIRD_PARTY[m]) == []


def test_no_driver_is_probed_for_what_it_can_do():
    """Capabilities are declared on the Driver base class; nothing asks getattr/hasattr of a driver."""
    probing = re.compile(r"\b(?:getattr|hasattr)\(\s*[\w.]*driver(?:_class\([^)]*\))?[,)]")
    found = [
        f"{p.relative_to(ROOT)}:{n}"
        for folder in ("legacy_bridge", "facades")
        for p in sorted((ROOT / folder).rglob("*.py"))
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if probing.search(line)
    ]
    assert found == []
