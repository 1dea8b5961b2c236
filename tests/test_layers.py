"""The house keeps its layers: every import of every product module (read with ast, those
inside functions and under TYPE_CHECKING included) points down, the stages never import
each other, and no module imports itself back through others.

    core  <-  store  <-  stages (crawler, rankings, alerts, feeds)  <-  ingest  <-  scheduler
                                                                                     web (beside scheduler)
    imitations: the imitation sites, on core only; imported by the demo and the tests

docs/architecture.md draws the same picture.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

STAGES = {"crawler", "rankings", "alerts", "feeds"}
# What each package may import (besides itself and third-party code).
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "store": {"core"},
    **{stage: {"core", "store"} for stage in STAGES},
    "ingest": {"core", "store", *STAGES},
    "web": {"core", "store", *STAGES},
    "scheduler": {"core", "store", *STAGES, "ingest", "web", "imitations"},
    "imitations": {"core"},
}
PACKAGES = tuple(ALLOWED)
# Alembic revisions are scripts Alembic loads, not modules of the package.
SKIPPED = ("store/migrations/versions/",)


def product_modules() -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT)
            if any(str(rel).startswith(s) for s in SKIPPED):
                continue
            parts = list(rel.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


MODULES = product_modules()


def _resolve(name: str) -> str | None:
    """The product module ``name`` is, or is inside (None: not the project's)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str, path: Path) -> Iterator[tuple[int, str]]:
    """(line, product module) for every import in ``path``. ``from package import name``
    counts as importing ``package.name`` when that is a module, else ``package``."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _resolve(alias.name)
                if target:
                    yield node.lineno, target
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            for alias in node.names:
                full = f"{source}.{alias.name}"
                target = full if full in MODULES else _resolve(source)
                if target:
                    yield node.lineno, target


GRAPH = {m: {t for _, t in imports_of(m, p) if t != m} for m, p in MODULES.items()}


def package(module: str) -> str:
    return module.split(".")[0]


def test_every_package_of_the_house_is_found() -> None:
    for name in ("core", "store", "crawler", "rankings", "alerts", "feeds", "ingest", "scheduler"):
        assert name in MODULES, name
    assert len(MODULES) > 50


def test_imports_point_down_and_stages_do_not_import_each_other() -> None:
    wrong: list[str] = []
    for module, path in MODULES.items():
        here = package(module)
        for line, target in imports_of(module, path):
            there = package(target)
            if there != here and there not in ALLOWED[here]:
                wrong.append(
                    f"{path.relative_to(ROOT)}:{line}: {module} imports {target} ({here} -> {there})"
                )
    assert not wrong, "imports against the layers:\n" + "\n".join(sorted(set(wrong)))


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles() -> None:
    assert cycles(GRAPH) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from core.config import load\n", {"core.config"}),
        ("def f():\n    from store import links\n", {"store.links"}),
        ("from store import Store\n", {"store"}),
        ("import alerts.outbox as o\n", {"alerts.outbox"}),
        (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from feeds.build import x\n",
            {"feeds.build"},
        ),
    ],
)
def test_imports_are_read_wherever_they_are(tmp_path: Path, source: str, expected: set[str]) -> None:
    path = tmp_path / "m.py"
    path.write_text(source, encoding="utf-8")
    assert {t for _, t in imports_of("scheduler.m", path)} == expected


def test_the_worker_and_the_stages_know_nothing_of_the_ingest_step() -> None:
    """The crawl is handed the ingest step; no stage, and not the page worker, imports it."""
    for module, targets in GRAPH.items():
        if package(module) in STAGES:
            assert not any(package(t) in ("ingest", "scheduler", "web") for t in targets), module


def test_every_import_of_the_project_names_a_module_that_exists() -> None:
    """A module moved away leaves no import of its old name behind (mypy, which ignores
    missing imports, would not say)."""
    missing = []
    for path in MODULES.values():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                if name.split(".")[0] in PACKAGES and name not in MODULES:
                    missing.append(f"{path.relative_to(ROOT)}:{node.lineno}: {name}")
    assert not missing, "imports of modules that do not exist:\n" + "\n".join(missing)
