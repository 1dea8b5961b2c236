"""The house's figures (issue 21): packages, import arrows between them, arrows running back
up, import cycles, importlib imports of the project's own modules, lines and the largest
modules, for the working tree and, with ``--before REV``, for a revision beside it.

    python bench/layers.py                  # this tree
    python bench/layers.py --before 62269d4 # the tree before the layers, beside this one

Imports are read as tests/test_layers.py reads them (ast: those inside functions and under
TYPE_CHECKING too), plus ``importlib.import_module("…")`` of a project module. An arrow runs
back up when the package it points to is not below in ``--order`` (default: the layers of
tests/test_layers.py; before them the packages sat store, crawler, alerts, feeds, scheduler).
Not a benchmark: no time is measured (bench/run_all.py leaves it out).
"""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.test_layers import ALLOWED, cycles  # noqa: E402

BEFORE_ORDER = ("store", "crawler", "alerts", "feeds", "scheduler")


def modules(root: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for init in sorted(root.glob("*/__init__.py")):
        if init.parent.name in ("tests", "bench"):
            continue
        for path in sorted(init.parent.rglob("*.py")):
            rel = path.relative_to(root)
            if "migrations/versions" in rel.as_posix():
                continue
            parts = list(rel.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def graph(mods: dict[str, Path]) -> tuple[dict[str, set[str]], int]:
    def resolve(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    edges: dict[str, set[str]] = {m: set() for m in mods}
    dynamic = 0
    for m, path in mods.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str | None] = []
            if isinstance(node, ast.Import):
                targets = [resolve(a.name) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = m.split(".") if is_package else m.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    source = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    source = node.module or ""
                targets = [
                    f"{source}.{a.name}" if f"{source}.{a.name}" in mods else resolve(source)
                    for a in node.names
                ]
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == (
                "import_module"
            ):
                arg = node.args[0] if node.args else None
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and resolve(arg.value):
                    dynamic += 1
                    targets = [resolve(arg.value)]
            edges[m].update(t for t in targets if t and t != m)
    return edges, dynamic


def figures(root: Path, order: tuple[str, ...] | None) -> dict[str, str]:
    mods = modules(root)
    edges, dynamic = graph(mods)
    top = lambda m: m.split(".")[0]  # noqa: E731
    packages = sorted({top(m) for m in mods})
    arrows = sorted({(top(a), top(b)) for a, ts in edges.items() for b in ts if top(a) != top(b)})
    if order is None:
        back = [(a, b) for a, b in arrows if b not in ALLOWED.get(a, set())]
    else:
        back = [(a, b) for a, b in arrows if order.index(b) > order.index(a)]
    lines = {m: len(p.read_text(encoding="utf-8").splitlines()) for m, p in mods.items()}
    largest = sorted(lines.items(), key=lambda kv: -kv[1])
    module_cycles = cycles(edges)
    return {
        "packages": f"{len(packages)} ({', '.join(packages)})",
        "import arrows between packages": str(len(arrows)),
        "arrows running back up": f"{len(back)}"
        + (f" ({', '.join(f'{a}->{b}' for a, b in back)})" if back else ""),
        "import cycles (modules)": f"{len(module_cycles)}"
        + (f" ({'; '.join(' -> '.join(c) for c in module_cycles)})" if module_cycles else ""),
        "importlib imports of own modules": str(dynamic),
        "modules": str(len(mods)),
        "lines of product code": f"{sum(lines.values()):,}",
        "modules over 500 lines": str(sum(1 for n in lines.values() if n > 500)),
        "largest modules": ", ".join(f"{m} {n}" for m, n in largest[:3]),
    }


def tree_of(rev: str, into: Path) -> Path:
    data = subprocess.run(["git", "-C", str(ROOT), "archive", rev], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", metavar="REV", help="a git revision to measure beside this tree")
    args = parser.parse_args()
    columns = {"this tree": figures(ROOT, None)}
    if args.before:
        with tempfile.TemporaryDirectory() as tmp:
            columns = {f"{args.before}": figures(tree_of(args.before, Path(tmp)), BEFORE_ORDER), **columns}
    names = list(columns)
    width = max(len(k) for k in columns[names[-1]])
    print(f"{'':{width}}  " + "  |  ".join(names))
    for key in columns[names[-1]]:
        print(f"{key:{width}}  " + "  |  ".join(columns[n][key] for n in names))
    return 0


if __name__ == "__main__":
    sys.exit(main())
