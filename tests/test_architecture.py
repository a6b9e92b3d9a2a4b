"""The package's layers, as node/__init__.py states them, hold in the code's own imports.

Every import counts, wherever it is written (module level, inside a function, under TYPE_CHECKING): a module may
import from its own package and from packages of lower layers only, and no chain of imports leads back to where
it started. Generated protobuf code (node/api/gen) is the wire layer's and is left out.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "node"

# Lowest first; packages in one tuple share a layer and may not import each other.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("core",),
    ("index", "hashing", "interchange", "membership"),
    ("dueprocess",),
    ("provenance",),
    ("replication",),
    ("storage",),
    ("ledger",),
    ("api",),
    ("network",),
    ("runtime",),
    ("server",),
    ("cli", "adapters"),
)
RANK = {package: rank for rank, packages in enumerate(LAYERS) for package in packages}


@dataclass(frozen=True)
class Import:
    source: str  # importing module, dotted
    target: str  # imported module, dotted
    line: int


def module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(package: Path) -> dict[str, Path]:
    return {
        module_name(p, package): p
        for p in sorted(package.rglob("*.py"))
        if "gen" not in p.relative_to(package).parts
    }


def imports_of(name: str, path: Path, known: set[str]) -> Iterator[Import]:
    """What `name` imports of the package, resolved to modules (a `from P import m` of a submodule is `P.m`)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield from _resolved(name, alias.name, (), node.lineno, known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            yield from _resolved(name, base, tuple(a.name for a in node.names), node.lineno, known)


def _resolved(source: str, base: str, names: tuple[str, ...], line: int, known: set[str]) -> Iterator[Import]:
    if base != "node" and not base.startswith("node."):
        return
    submodules = [f"{base}.{n}" for n in names if f"{base}.{n}" in known]
    for target in submodules or [base]:
        if not target.startswith("node.api.gen"):
            yield Import(source, target, line)


def graph(package: Path = PACKAGE) -> list[Import]:
    found = modules(package)
    known = set(found)
    return [i for name, path in found.items() for i in imports_of(name, path, known)]


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None  # `node` itself (its version) belongs to no layer


def upward_or_sideways(imports: list[Import]) -> list[str]:
    wrong = []
    for i in imports:
        source, target = layer_of(i.source), layer_of(i.target)
        if source is None or target is None or source == target:
            continue
        if RANK[target] >= RANK[source]:
            wrong.append(f"{i.source}:{i.line} imports {i.target} ({source} may not import {target})")
    return wrong


def cycles(imports: list[Import]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), or a module importing itself."""
    edges: dict[str, set[str]] = {}
    for i in imports:
        edges.setdefault(i.source, set()).add(i.target)
        edges.setdefault(i.target, set())
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
            if len(component) > 1 or v in edges[v]:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_every_package_of_node_has_a_layer() -> None:
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert packages == set(RANK)


def test_no_module_imports_from_a_higher_layer_or_a_sibling_layer() -> None:
    assert upward_or_sideways(graph()) == []


def test_there_are_no_import_cycles() -> None:
    assert cycles(graph()) == []


def test_each_package_says_what_it_is_for_and_what_it_may_import() -> None:
    for package in RANK:
        doc = ast.get_docstring(ast.parse((PACKAGE / package / "__init__.py").read_text()))
        assert doc, f"node/{package}/__init__.py has no docstring"
        assert "import" in doc, f"node/{package}/__init__.py does not say what it may import"


# The checks themselves, on a scratch package: they must catch what they are there to catch.


def _scratch(tmp_path: Path, files: dict[str, str]) -> list[Import]:
    for relative, text in files.items():
        path = tmp_path / "node" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return graph(tmp_path / "node")


@pytest.mark.parametrize(
    ("case", "files", "expected"),
    [
        (
            "core importing the ledger",
            {"core/__init__.py": "", "core/entry.py": "from node.ledger.ledger import Ledger\n",
             "ledger/__init__.py": "", "ledger/ledger.py": "Ledger = 1\n"},
            ["node.core.entry:1 imports node.ledger.ledger (core may not import ledger)"],
        ),
        (
            "a lazy import inside a function counts",
            {"storage/__init__.py": "", "storage/store.py": "def f():\n    from node.server import status\n",
             "server/__init__.py": "", "server/status.py": ""},
            ["node.storage.store:2 imports node.server.status (storage may not import server)"],
        ),
        (
            "siblings of one layer",
            {"index/__init__.py": "", "index/pdq.py": "from node.membership import roster\n",
             "membership/__init__.py": "", "membership/roster.py": ""},
            ["node.index.pdq:1 imports node.membership.roster (index may not import membership)"],
        ),
        (
            "downward imports are fine",
            {"server/__init__.py": "", "server/x.py": "from node.core import errors\n",
             "core/__init__.py": "", "core/errors.py": ""},
            [],
        ),
    ],
)
def test_the_layer_check_catches_upward_imports(
    tmp_path: Path, case: str, files: dict[str, str], expected: list[str]
) -> None:
    assert upward_or_sideways(_scratch(tmp_path, files)) == expected, case


def test_the_cycle_check_catches_a_cycle_through_a_type_checking_import(tmp_path: Path) -> None:
    imports = _scratch(
        tmp_path,
        {
            "membership/__init__.py": "",
            "membership/roster.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from node.membership.join import Request\n",
            "membership/join.py": "from node.membership import roster\n",
        },
    )
    assert cycles(imports) == [["node.membership.join", "node.membership.roster"]]


# What `hashnode --help` loads: the CLI imports a command's module only when that command runs.

HEAVY = ("grpc", "numpy", "lmdb", "cryptography")


@pytest.mark.parametrize("argv", [["--help"], ["admin", "--help"]])
def test_hashnode_help_imports_no_heavy_dependency(argv: list[str]) -> None:
    script = (
        "import sys\n"
        "from node.cli.main import main\n"
        f"code = main({argv!r})\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
        "sys.exit(code)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
    assert "submit" in result.stdout or "rotate-key" in result.stdout  # the help still lists the commands


def test_a_command_loads_only_its_own_module() -> None:
    script = (
        "import sys\n"
        "from node.cli.main import main\n"
        "main(['keygen', '--help'])\n"
        "print(sorted(m for m in sys.modules if m.startswith('node.cli.') and m.endswith('_cmd')))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.stdout.strip().splitlines()[-1] == "['node.cli.keygen_cmd']"
