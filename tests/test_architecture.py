"""The package's import graph runs one way: views/API/CLI → services → models → extensions.

Built with grimp from every import statement, those inside functions too, so a cycle cannot
hide behind an import placed in a function body.
"""

from __future__ import annotations

import grimp
import pytest
from grimp import Layer

# From the top down; a layer may import the layers below it, never one above.
LAYERS = [
    # What serves people: pages, the JSON API, the command line, and their helpers.
    Layer(
        "api",
        "auth",
        "certificates",
        "checkin",
        "cli",
        "demo",
        "errors",
        "formatting",
        "forms",
        "public",
        "registration",
        "security",
        "staff",
        "surveys",
        independent=False,
    ),
    "services",
    "models",
    Layer("extensions", "config", "divisions", "i18n", "routing", "urls", independent=False),
]


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("workshops")


def imports_of(graph: grimp.ImportGraph, module: str) -> set[str]:
    """What ``module`` imports, less its own package: a blueprint's views take ``bp`` from their
    package's ``__init__``, which imports them back to register them (the microblog pattern)."""
    return {
        imported
        for imported in graph.find_modules_directly_imported_by(module)
        if not module.startswith(imported + ".")
    }


def cycles_in(graph: grimp.ImportGraph) -> list[set[str]]:
    """Tarjan's algorithm over the module graph: every group of two or more modules that import
    each other, directly or through others."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in imports_of(graph, module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == module:
                    break
            groups.append(group)

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return [group for group in groups if len(group) > 1]


def test_no_import_cycle(graph):
    assert cycles_in(graph) == []


def test_layers_import_only_downwards(graph):
    illegal = graph.find_illegal_dependencies_for_layers(layers=LAYERS, containers={"workshops"})
    described = sorted(
        f"{dependency.importer} → {dependency.imported}: "
        + "; ".join(" → ".join(route.heads | route.middle | route.tails) for route in dependency.routes)
        for dependency in illegal
    )
    assert described == []


def test_every_module_has_a_layer(graph):
    placed = {
        name for layer in LAYERS for name in (layer.module_tails if isinstance(layer, Layer) else {layer})
    }
    top_level = {module.split(".")[1] for module in graph.modules if module.count(".") >= 1}
    # gunicorn's settings are read by gunicorn alone; they import the app only in a worker's hook.
    assert top_level - placed == {"gunicorn_conf"}


def test_the_checks_can_fail():
    """One import added from a model up to a service makes a cycle and breaks the layers."""
    graph = grimp.build_graph("workshops")
    graph.add_import(importer="workshops.models.registration", imported="workshops.services.registration")
    assert any("workshops.services.registration" in group for group in cycles_in(graph))
    assert graph.find_illegal_dependencies_for_layers(layers=LAYERS, containers={"workshops"})
