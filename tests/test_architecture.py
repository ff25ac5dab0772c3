"""The pipeline's layers, enforced: a module imports only from its own stage or from stages
before it, and no two modules import each other, directly or round a cycle. Every import counts
(at the top, inside functions, under ``TYPE_CHECKING``), read from the source with ``ast``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "kscan"

LAYERS = (
    "kscan.support",
    "kscan.input",
    "kscan.config",
    "kscan.model",
    "kscan.checks",
    "kscan.rules",
    "kscan.results",
    "kscan.scan",
    "kscan.threats",
    "kscan.fix",
    "kscan.report",
    "kscan.app",
    "kscan.cli",
    "kscan.__main__",
)
"""The stages, first to last: each may import the ones before it (and ``kscan`` itself, which
holds only the version)."""


def modules(root: Path) -> dict[str, Path]:
    """Every module of the package under ``root``, by dotted name."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The package's modules that ``name`` imports, wherever the import statement is."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in known else base)
    return {module for module in found if module in known and module != name}


def graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    known = modules(root)
    return {name: imports(name, path, known) for name, path in known.items()}


def layer_of(module: str) -> int | None:
    """The index of a module's stage (None for the package root)."""
    for index, layer in enumerate(LAYERS):
        if module == layer or module.startswith(layer + "."):
            return index
    return None


def back_imports(edges: dict[str, set[str]]) -> list[str]:
    """Imports from a later stage into an earlier one."""
    found = []
    for module, targets in sorted(edges.items()):
        own = layer_of(module)
        for target in sorted(targets):
            theirs = layer_of(target)
            if own is not None and theirs is not None and theirs > own:
                found.append(f"{module} imports {target} ({LAYERS[theirs]} comes after)")
    return found


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively). A
    package and its own modules form none: a package's ``__init__`` may not import its
    modules' importers."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, targets = work[-1]
            advanced = False
            for target in targets:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(edges[target]))))
                    advanced = True
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_every_module_belongs_to_a_stage() -> None:
    assert [m for m in graph() if m != "kscan" and layer_of(m) is None] == []


def test_no_import_reaches_back_up_the_pipeline() -> None:
    assert back_imports(graph()) == []


def test_no_import_cycles() -> None:
    assert cycles(graph()) == []


def reachable(edges: dict[str, set[str]], start: str) -> set[str]:
    """The modules ``start`` imports, directly or through others."""
    found: set[str] = set()
    todo = [start]
    while todo:
        for target in edges[todo.pop()] - found:
            found.add(target)
            todo.append(target)
    return found


def test_reporters_do_not_load_the_scanner() -> None:
    """A reporter renders a ScanResult (from the results stage) without importing the scan."""
    edges = graph()
    reporters = [module for module in edges if layer_of(module) == LAYERS.index("kscan.report")]
    loaded = {
        r: sorted(m for m in reachable(edges, r) if m.startswith("kscan.scan")) for r in reporters
    }
    assert loaded == {reporter: [] for reporter in reporters}


@pytest.fixture
def copy_of_kscan(tmp_path: Path) -> Path:
    """A copy of the package's sources to break on purpose."""
    target = tmp_path / "kscan"
    for path in modules(PACKAGE).values():
        destination = target / path.relative_to(PACKAGE)
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(path.read_bytes())
    return target


def _add_import(module: Path, statement: str, *, inside_function: bool = False) -> None:
    text = module.read_text(encoding="utf-8")
    if inside_function:
        statement = f"\n\ndef _late() -> None:\n    {statement}\n"
        module.write_text(text + statement, encoding="utf-8")
    else:
        module.write_text(text + f"\n{statement}\n", encoding="utf-8")


def test_a_deliberate_back_import_is_caught(copy_of_kscan: Path) -> None:
    """The contract fails when an earlier stage imports a later one, even lazily."""
    _add_import(
        copy_of_kscan / "model" / "extract.py",
        "from kscan.results.findings import Finding",
        inside_function=True,
    )
    problems = back_imports(graph(copy_of_kscan))
    assert problems == [
        "kscan.model.extract imports kscan.results.findings (kscan.results comes after)"
    ]


def test_a_deliberate_cycle_is_caught(copy_of_kscan: Path) -> None:
    """Two modules of one stage that import each other (type-only imports count too)."""
    _add_import(
        copy_of_kscan / "input" / "tree.py",
        "from typing import TYPE_CHECKING\n\n"
        "if TYPE_CHECKING:\n    from kscan.input import documents",
    )
    found = cycles(graph(copy_of_kscan))
    assert any({"kscan.input.tree", "kscan.input.documents"} <= set(c) for c in found)
