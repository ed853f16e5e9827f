"""The package's shape, read from its imports (every ``import``, function-level ones included): no module imports
another that (directly or not) imports it back, no layer imports one above it, and the report asks methods for
their figures through the registries instead of importing their internals."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "biobench"

# Top-level modules and packages by layer; a module may import its own layer and those below.
LAYERS = [
    {"errors", "atomic", "home", "threads", "settings", "plotting", "numbers", "time_grid", "models", "experiments",
     "formulas", "priors", "problem", "outcome", "simulator", "likelihood", "objective", "petab", "engines"},  # the model core
    {"plugins", "method_spec", "saved_networks", "learning", "initializers", "optimizers", "surrogate", "amortized"},  # methods
    {"running", "analysis", "sources", "api", "testing"},  # running and judging them
    {"report", "commands"},  # what users see
]
LAYER = {name: level for level, names in enumerate(LAYERS) for name in names}
# Modules of a layer that belong to the command line although they live in a method's package.
COMMAND_LINE = {"biobench.commands.surrogate"}


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(REPO).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the biobench modules it imports (a name imported from a package counts as the package unless it
    is a module itself)."""
    known = modules()

    def resolve(name: str) -> str:
        while name not in known:
            name = name.rpartition(".")[0]
        return name

    graph = {}
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parent + ([base] if base else []))
                targets |= {f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names}
        graph[name] = {resolve(t) for t in targets if t.split(".")[0] == "biobench"} - {name}
    return graph


def layer_of(module: str) -> int:
    return LAYER[module.split(".")[1]]


def test_every_top_level_module_has_a_layer():
    """A new module must be placed: add it to LAYERS where it belongs."""
    unplaced = {m.split(".")[1] for m in modules() if m.count(".") and m.split(".")[1] not in LAYER}
    assert unplaced == set()


def test_no_import_circles():
    graph = import_graph()
    # the package root is a facade (its version and a lazy pandas API): importing it is importing neither
    graph = {m: {t for t in targets if t != "biobench"} for m, targets in graph.items() if m != "biobench"}
    state: dict[str, int] = {}
    circles = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                circles.append(path[path.index(target):] + [target])
            elif target not in state:
                visit(target, path + [target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert circles == []


def test_no_layer_imports_one_above_it():
    upward = sorted((m, t) for m, targets in import_graph().items() if m != "biobench"
                    for t in targets if t != "biobench" and layer_of(t) > layer_of(m))
    assert upward == []


def test_the_report_never_imports_a_methods_internals():
    """It asks every method that ran for its figures through the registries (``Plugin.report_figures``)."""
    internals = ("biobench.initializers.", "biobench.optimizers.", "biobench.amortized")
    imports = {(m, t) for m, targets in import_graph().items() if m.startswith("biobench.report")
               for t in targets if t.startswith(internals)}
    assert imports == set()
