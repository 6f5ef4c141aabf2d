"""The shape of the package, held by a test: dependencies point one way.

Every module under ``sim/`` (and ``policies/``) is parsed with :mod:`ast`; every import
counts, at module level or inside a function (a deferred import is still a dependency),
including those only for type checking.  The layers, lowest first::

    errors, events < io < world < process < engine < outcomes < experiments
        < {history, incentives} < reports < cli

(``sim/errors.py`` and ``sim/events.py`` are the loose foundation modules; ``sim/__init__.py``
and ``sim/__main__.py`` are the package's front door, above everything, and nothing in
``sim`` imports them.)  A module may import its own layer's package and lower layers
only; ``history`` and ``incentives`` share a layer and may not import each other;
``policies/`` never imports ``sim``.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SIM = ROOT / "sim"
POLICIES = ROOT / "policies"
NOTEBOOKS = ROOT / "notebooks"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "events"),
    ("io",),
    ("world",),
    ("process",),
    ("engine",),
    ("outcomes",),
    ("experiments",),
    ("history", "incentives"),
    ("reports",),
    ("cli",),
)
"""Groups of ``sim`` (a subpackage, or a loose foundation module), lowest first."""

FRONT_DOOR = frozenset({"sim", "sim.__main__"})
MAX_LINES = 450
MAX_LOOSE_MODULES = 6
MIN_SUBPACKAGES = 6

_RANK = {group: rank for rank, groups in enumerate(LAYERS) for group in groups}


# -- reading the code ------------------------------------------------------------------
def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _modules() -> dict[str, Path]:
    """Every module of ``sim`` and ``policies``: dotted name -> file."""
    files = sorted(SIM.rglob("*.py")) + sorted(POLICIES.rglob("*.py"))
    return {_module_name(p): p for p in files}


def _resolve(name: str) -> str:
    """The module an import of *name* loads: itself, or its nearest known parent."""
    modules = _modules()
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name


def _imports_in(tree: ast.AST, module: str, is_package: bool) -> Iterator[tuple[str, int]]:
    """(imported module, line) of every import in *tree*, anywhere in the module."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's package
                package = module if is_package else module.rpartition(".")[0]
                for _ in range(node.level - 1):
                    package = package.rpartition(".")[0]
                base = f"{package}.{base}" if base else package
            for alias in node.names:  # `from sim.cli import history` imports a module
                sub = f"{base}.{alias.name}"
                yield (sub if sub in _modules() else base), node.lineno


@cache
def _graph() -> dict[str, tuple[tuple[str, int], ...]]:
    """Module -> the (module, line) pairs of ``sim``/``policies`` it imports."""
    graph = {}
    for module, path in _modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        edges = {}
        for name, line in _imports_in(tree, module, path.name == "__init__.py"):
            if name.split(".")[0] not in ("sim", "policies"):
                continue
            target = _resolve(name)
            if target and target != module:
                edges.setdefault(target, line)
        graph[module] = tuple(sorted(edges.items()))
    return graph


def _where(module: str, line: int) -> str:
    return f"{_modules()[module].relative_to(ROOT)}:{line}"


def _group(module: str) -> str | None:
    """The layer group of a ``sim`` module (None: the front door, or not ``sim``)."""
    parts = module.split(".")
    if parts[0] != "sim" or module in FRONT_DOOR:
        return None
    return parts[1]


# -- (a) no cycles -----------------------------------------------------------------------
def _cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    graph = {m: [t for t, _ in edges] for m, edges in _graph().items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph.get(child, ()))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
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


def _describe_cycle(component: list[str]) -> str:
    members = set(component)
    edges = [
        f"    {_where(m, line)}: {m} imports {t}"
        for m in component
        for t, line in _graph()[m]
        if t in members
    ]
    return f"import cycle between {', '.join(component)}:\n" + "\n".join(edges)


def test_no_import_cycles():
    cycles = _cycles()
    assert not cycles, "\n".join(_describe_cycle(c) for c in cycles)


# -- (b) layers --------------------------------------------------------------------------
def _layer_violations() -> list[tuple[str, str, int]]:
    """(importing module, imported module, line) of every import against the layers."""
    bad = []
    for module, edges in _graph().items():
        if module.startswith("policies"):
            bad += [(module, t, line) for t, line in edges if t.startswith("sim")]
            continue
        group = _group(module)
        if group is None:  # the front door may import anything
            continue
        for target, line in edges:
            if target in FRONT_DOOR:
                bad.append((module, target, line))
                continue
            other = _group(target)
            if other is None or other == group:
                continue
            if other not in _RANK or group not in _RANK or _RANK[other] >= _RANK[group]:
                bad.append((module, target, line))
    return bad


def _explain(module: str, target: str) -> str:
    if module.startswith("policies"):
        return "policies/ never imports sim"
    if target in FRONT_DOOR:
        return f"nothing in sim imports the front door {target}"
    group, other = _group(module), _group(target)
    if group not in _RANK or other not in _RANK:
        unknown = group if group not in _RANK else other
        return f"'{unknown}' has no layer in LAYERS"
    if _RANK[group] == _RANK[other]:
        return f"{group} and {other} share a layer and may not import each other"
    return f"{group} is below {other}"


def test_imports_follow_the_layers():
    bad = _layer_violations()
    assert not bad, "imports against the layers:\n" + "\n".join(
        f"    {_where(m, line)}: {m} imports {t} ({_explain(m, t)})" for m, t, line in bad
    )


def test_every_subpackage_has_a_layer():
    groups = {_group(m) for m in _modules() if _group(m) is not None}
    assert groups <= set(_RANK), f"groups without a layer in LAYERS: {sorted(groups - set(_RANK))}"


# -- (c) figures -------------------------------------------------------------------------
def test_few_loose_modules_and_enough_subpackages():
    loose = sorted(p.name for p in SIM.glob("*.py"))
    subpackages = sorted(p.parent.name for p in SIM.glob("*/__init__.py"))
    assert len(loose) <= MAX_LOOSE_MODULES, f"{len(loose)} loose modules in sim/: {loose}"
    assert len(subpackages) >= MIN_SUBPACKAGES, f"only {len(subpackages)}: {subpackages}"


def _long_modules() -> dict[str, int]:
    lengths = {
        str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
        for path in _modules().values()
    }
    return {name: n for name, n in lengths.items() if n > MAX_LINES}


def test_no_module_over_the_line_limit():
    long = _long_modules()
    assert not long, f"modules over {MAX_LINES} lines: " + ", ".join(
        f"{name} ({n})" for name, n in sorted(long.items())
    )


# -- (d) notebooks, (e) the CLI ----------------------------------------------------------
def _notebook_code(path: Path) -> str:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    lines = [
        line
        for cell in cells
        if cell["cell_type"] == "code"
        for line in "".join(cell["source"]).splitlines()
        if not line.lstrip().startswith(("%", "!"))  # IPython magics and shell lines
    ]
    return "\n".join(lines)


@pytest.mark.parametrize("notebook", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.stem)
def test_notebooks_do_not_import_the_cli(notebook):
    tree = ast.parse(_notebook_code(notebook), str(notebook))
    bad = [
        f"{notebook.relative_to(ROOT)} (cell line {line}): imports {name}"
        for name, line in _imports_in(tree, "__notebook__", False)
        if name == "sim.cli" or name.startswith("sim.cli.")
    ]
    assert not bad, "a notebook uses the library, never a CLI module:\n" + "\n".join(bad)


def test_cli_loads_command_modules_explicitly():
    bad = []
    for path in sorted((SIM / "cli").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Name) and node.id == "__import__":
                names = ["__import__"]
            bad += [
                f"{path.relative_to(ROOT)}:{node.lineno}: {name}"
                for name in names
                if name.split(".")[0] in ("importlib", "__import__")
            ]
    assert not bad, "sim/cli imports its command modules by name, not by string:\n" + "\n".join(bad)
