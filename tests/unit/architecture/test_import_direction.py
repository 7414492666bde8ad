"""Imports in bridge/ go one way (docs/ARCHITECTURE.md): web -> functions -> domain / whmcs / backends / views;
whmcs, backends and views import domain only; domain imports none of the others and does no I/O.

Read from the source with `ast` (nothing is imported), so a wrong-way import fails here even when it would not
make a cycle. The shared top-level modules (errors, config, logs, redact, locks, metrics) may be imported from any
layer; app.py and cli.py compose everything and nothing imports them. No two modules import each other, directly or
round a longer loop (imports under `if TYPE_CHECKING:` count: a loop of types is a loop of ideas).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from rig.paths import REPO

BRIDGE = REPO / "bridge"

LAYERS = ("web", "functions", "domain", "whmcs", "backends", "views")
SHARED = ("errors", "config", "logs", "redact", "locks", "metrics")
ROOTS = ("app", "cli", "__main__", "__init__")

# What each part may import from bridge (besides itself).
ALLOWED: dict[str, frozenset[str]] = {
    "web": frozenset({"functions", "domain", "whmcs", "backends", "views", *SHARED}),
    "functions": frozenset({"domain", "whmcs", "backends", "views", *SHARED}),
    "whmcs": frozenset({"domain", *SHARED}),
    "backends": frozenset({"domain", *SHARED}),
    "views": frozenset({"domain", *SHARED}),
    "domain": frozenset({"errors"}),
    "errors": frozenset(),
    "config": frozenset(),
    "redact": frozenset(),
    "locks": frozenset(),
    "logs": frozenset({"redact"}),
    "metrics": frozenset(),
}
# Pure rules do no I/O: none of these in domain/.
IO_MODULES = frozenset(
    {
        "aiohttp", "asyncio", "boto3", "botocore", "http", "jinja2", "minio", "os", "pathlib", "pymysql", "requests",
        "shutil", "socket", "sqlite3", "ssl", "structlog", "subprocess", "urllib", "urllib3", "yarl",
    }
)  # fmt: skip


def part_of(module: str) -> str:
    """'bridge.functions.call' -> 'functions'; 'bridge.errors' -> 'errors'; 'bridge' -> '__init__'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def module_name(path: Path, root: Path = BRIDGE) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def imports(path: Path, root: Path = BRIDGE) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in the file, `from bridge import x` as 'bridge.x'."""
    tree = ast.parse(path.read_text(), filename=str(path))
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            if base == "bridge":
                for alias in node.names:
                    yield node.lineno, f"bridge.{alias.name}"
            else:
                yield node.lineno, base


def violations(root: Path = BRIDGE) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        here = part_of(module_name(path, root))
        if here in ROOTS:
            continue
        where = path.relative_to(root.parent)
        for line, target in imports(path, root):
            top = target.split(".")[0]
            if here == "domain" and top in IO_MODULES:
                found.append(f"{where}:{line}: domain does no I/O, but imports {target}")
            if top != "bridge":
                continue
            there = part_of(target)
            if there == here:
                continue
            if there in ROOTS:
                found.append(f"{where}:{line}: {here} imports {target}; nothing imports the composition roots")
            elif there not in ALLOWED.get(here, frozenset()):
                found.append(f"{where}:{line}: {here} may not import {there} ({target})")
    return found


def module_graph(root: Path = BRIDGE) -> dict[str, set[str]]:
    """Each module of bridge/ -> the modules of bridge/ it imports (`from bridge.a import b` is module `bridge.a.b`
    where that file exists, else the package `bridge.a`)."""
    modules = {module_name(path, root): path for path in root.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        for _, target in imports(path, root):
            if target in modules and target != name:
                graph[name].add(target)
        for node in ast.walk(tree):  # `from bridge.backends.minio import keys`: the module keys, not the package
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    if sub in modules and sub != name:
                        graph[name].add(sub)
                        graph[name].discard(node.module)
    return graph


def circles(root: Path = BRIDGE) -> list[list[str]]:
    """Every set of modules that import each other round a loop (Tarjan's strongly connected components)."""
    graph = module_graph(root)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
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

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


# Circles known today, each with the issue that opens it; a new one fails the test, and so does one that is gone
# (take it off this list then).
KNOWN_CIRCLES: dict[tuple[str, ...], str] = {}


def test_no_modules_of_bridge_import_each_other_round_a_loop() -> None:
    assert {tuple(c) for c in circles()} == set(KNOWN_CIRCLES)


def test_the_check_finds_a_loop_of_three_and_one_of_types(tmp_path: Path) -> None:
    fake = tmp_path / "bridge"
    (fake / "backends" / "minio").mkdir(parents=True)
    for rel, source in {
        "backends/minio/driver.py": "from bridge.backends.minio.panel import MinioPanel\n",
        "backends/minio/panel.py": "from bridge.backends.minio import clients\n",
        "backends/minio/clients.py": "from bridge.backends.minio.driver import T\n",
        "backends/registry.py": "from bridge.backends.minio.driver import MinioDriver\n",
        "functions/context.py": (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from bridge.functions.meter import M\n"
        ),
        "functions/meter.py": "from bridge.functions.context import Resources\n",
    }.items():
        (fake / rel).parent.mkdir(parents=True, exist_ok=True)
        (fake / rel).write_text(source)
    assert circles(fake) == [
        ["bridge.backends.minio.clients", "bridge.backends.minio.driver", "bridge.backends.minio.panel"],
        ["bridge.functions.context", "bridge.functions.meter"],
    ]


def test_every_module_of_bridge_belongs_to_a_known_layer_or_shared_module() -> None:
    known = set(LAYERS) | set(SHARED) | set(ROOTS)
    strays = sorted(str(p.relative_to(BRIDGE)) for p in BRIDGE.rglob("*.py") if part_of(module_name(p)) not in known)
    assert strays == [], "add each new top-level module to a layer (or to SHARED, with a reason)"


def test_imports_in_bridge_go_one_way() -> None:
    assert violations() == []


def test_the_check_catches_a_wrong_way_import(tmp_path: Path) -> None:
    """The check itself: a domain module importing a driver, and a driver importing a use case, are both caught."""
    fake = tmp_path / "bridge"
    for folder, source in {
        "domain": "from bridge.backends.base import StorageBackend\nimport socket\n",
        "backends": "from bridge.functions import call\n",
        "whmcs": "from bridge.domain.values import BucketUsage\nfrom bridge.errors import BridgeError\n",
    }.items():
        (fake / folder).mkdir(parents=True)
        (fake / folder / "x.py").write_text(source)
    found = violations(fake)
    assert found == [
        "bridge/backends/x.py:1: backends may not import functions (bridge.functions)",
        "bridge/domain/x.py:1: domain may not import backends (bridge.backends.base)",
        "bridge/domain/x.py:2: domain does no I/O, but imports socket",
    ]


@pytest.mark.parametrize(("source", "expected"), [("from bridge import app", "nothing imports the composition roots")])
def test_nothing_imports_the_app_factory_or_the_cli(tmp_path: Path, source: str, expected: str) -> None:
    (tmp_path / "bridge" / "web").mkdir(parents=True)
    (tmp_path / "bridge" / "web" / "x.py").write_text(source + "\n")
    assert expected in violations(tmp_path / "bridge")[0]
