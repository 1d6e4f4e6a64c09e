"""Layers import one way: the graph of module-level imports has no forbidden edge.

Built from the source with `ast` (nothing is imported), so a test run cannot
hide a cycle that an earlier import happened to break. Imports inside
functions and under ``if TYPE_CHECKING:`` are left out: they run later or
never. Importing ``a.b.c`` also runs ``a.b``'s ``__init__``, so that is an
edge too — except from a module inside ``a.b`` itself, which Python has
already started importing. A package that exports its names lazily
(`rookdb.lazy_exports`) lists them under ``if TYPE_CHECKING:`` in its
``__init__``; ``from a.b import Name`` is then an edge to the module ``Name``
comes from, as it is when the name is first asked for.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _module_level(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements that run when the module is imported."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from _module_level(node.body)
            yield from _module_level(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                yield from _module_level(block)
            for handler in node.handlers:
                yield from _module_level(handler.body)
        elif isinstance(node, ast.With):
            yield from _module_level(node.body)


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _lazy_origins(body: list[ast.stmt], package: str) -> dict[str, str]:
    """Where each name a package exports lazily comes from: its `if TYPE_CHECKING:` imports."""
    origins: dict[str, str] = {}
    for node in body:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for imported in node.body:
                if isinstance(imported, ast.ImportFrom) and imported.module:
                    assert imported.module.startswith(package + "."), ast.unparse(imported)
                    origins.update((alias.name, imported.module) for alias in imported.names)
    return origins


def _graph(*, own_packages: bool = False) -> dict[str, set[str]]:
    """Module -> the rookdb modules its module-level imports run.

    With `own_packages`, also the packages a module's own name passes through,
    when one of its imports goes through them (`rookdb.storage.model` importing
    `rookdb.errors` needs `rookdb`).
    """
    paths = {_module_name(path): path for path in (SRC / "rookdb").rglob("*.py")}
    packages = {name for name, path in paths.items() if path.name == "__init__.py"}
    trees = {name: ast.parse(path.read_text(), str(path)) for name, path in paths.items()}
    lazy = {name: _lazy_origins(trees[name].body, name) for name in packages}
    graph: dict[str, set[str]] = {}
    for name, tree in trees.items():
        package = name if name in packages else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in _module_level(tree.body):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
                continue
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets.add(base)
            # `from package import module` imports the module; a lazy name, its module.
            origins = lazy.get(base, {})
            targets.update(origins.get(alias.name, f"{base}.{alias.name}") for alias in node.names)
        own = {name} if own_packages else set(_ancestors(name)) | {name}
        edges: set[str] = set()
        for target in targets:
            for imported in [*_ancestors(target), target]:
                if imported in paths and imported not in own:
                    edges.add(imported)
        graph[name] = edges
    return graph


GRAPH = _graph()
PACKAGES = {name for name in GRAPH if any(other.startswith(name + ".") for other in GRAPH)}


def _reachable(start: str, graph: dict[str, set[str]] = GRAPH) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for target in graph[todo.pop()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def _in(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _path(start: str, goal: str) -> list[str]:
    """The import chain from `start` to the first module inside `goal` (for the message)."""
    previous: dict[str, str] = {}
    todo = [start]
    while todo:
        current = todo.pop(0)
        if current != start and _in(current, goal):
            chain = [current]
            while chain[-1] != start:
                chain.append(previous[chain[-1]])
            return chain[::-1]
        for target in sorted(GRAPH[current]):
            if target not in previous and target != start:
                previous[target] = current
                todo.append(target)
    return []


def _imports(package: str, forbidden: str) -> list[str]:
    """Chains by which a module of `package` imports (directly or not) one of `forbidden`."""
    return [
        " -> ".join(_path(name, forbidden))
        for name in sorted(GRAPH)
        if _in(name, package) and any(_in(t, forbidden) for t in _reachable(name))
    ]


def test_the_graph_sees_the_package() -> None:
    assert "rookdb.server.app" in GRAPH
    assert "rookdb.tasks.scheduler" in GRAPH["rookdb.tasks.service"]
    # A submodule importing its own package is not an edge; importing another package is.
    assert "rookdb.tasks" not in GRAPH["rookdb.tasks.scheduler"]
    assert "rookdb.destinations" in GRAPH["rookdb.drill.source"]


def test_the_graph_follows_lazy_names() -> None:
    assert "rookdb.storage.database" in GRAPH["rookdb.backup.run"]  # from rookdb.storage import
    assert "rookdb.backup.naming" in GRAPH["rookdb.backup.run"]  # from rookdb.backup import naming


# Packages whose __init__ still imports its modules up front (files of the cluster
# work): make them lazy like the others, then take them off this list.
EAGER_PACKAGES: set[str] = set()


def test_no_import_cycle_runs_through_a_package() -> None:
    """Every package exports its names lazily, so importing one module never runs its
    siblings and nothing waits on a half-initialised package."""
    graph = _graph(own_packages=True)
    in_cycles = {name for name in PACKAGES if name in _reachable(name, graph)}
    assert in_cycles == EAGER_PACKAGES


def _lazy_packages() -> list[str]:
    return sorted(
        name
        for name in PACKAGES
        if "lazy_exports" in (SRC / name.replace(".", "/") / "__init__.py").read_text()
    )


@pytest.mark.parametrize("package", _lazy_packages())
def test_lazy_names_are_the_names_type_checkers_see(package: str) -> None:
    """`__all__`, the `if TYPE_CHECKING:` imports and what Python gives agree."""
    path = SRC / package.replace(".", "/") / "__init__.py"
    origins = _lazy_origins(ast.parse(path.read_text()).body, package)
    module = importlib.import_module(package)
    assert sorted(module.__all__) == sorted(origins)
    for name, origin in origins.items():
        assert getattr(module, name) is getattr(importlib.import_module(origin), name), name
    with pytest.raises(AttributeError):
        module.no_such_name  # noqa: B018


def test_server_and_studio_import_one_way() -> None:
    """The server mounts the Studio; the Studio gets what it needs from the core, so no cycle."""
    assert _imports("rookdb.server", "rookdb.studio")  # the graph sees the mount
    assert _imports("rookdb.studio", "rookdb.server") == []


@pytest.mark.parametrize("module", ["rookdb.server.auth", "rookdb.server.limits"])
def test_the_gate_knows_studio_paths_without_the_studio(module: str) -> None:
    """`rookdb.studio_paths` says which paths are the Studio's, to the server and the Studio."""
    assert "rookdb.studio_paths" in GRAPH[module]
    assert _imports(module, "rookdb.studio") == []


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("rookdb.tasks.drill", "rookdb.tasks.scheduler"),
        ("rookdb.drill", "rookdb.tasks"),
    ],
)
def test_drills_never_import_the_scheduler(package: str, forbidden: str) -> None:
    """Drills take narrow dependencies; the scheduler builds them, never the other way."""
    assert _imports(package, forbidden) == []


# What every CLI command module may use; the only other edges nest one command group in
# another (`backup tasks ...`, the task set-up commands added to `tasks`).
CLI_SHARED = {"rookdb.cli", "rookdb.cli.context", "rookdb.cli.options", "rookdb.cli.output"}
CLI_GROUPS = {
    ("rookdb.cli.backup", "rookdb.cli.tasks"),
    ("rookdb.cli.task_setup", "rookdb.cli.tasks"),
}


def test_cli_commands_take_shared_options_from_one_module() -> None:
    """A command module never imports another one for its options or helpers."""
    edges = {
        (name, target)
        for name in GRAPH
        if _in(name, "rookdb.cli") and name not in CLI_SHARED | {"rookdb.cli.main"}
        for target in GRAPH[name]
        if _in(target, "rookdb.cli") and target not in CLI_SHARED
    }
    assert edges <= CLI_GROUPS
