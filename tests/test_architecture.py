"""The shape of the code, checked: who may import whom (docs/ARCHITECTURE.md).

The import graph is read from the source with ``ast`` (every ``import`` and ``from … import``,
including the ones inside functions), so nothing is executed and a lazy import counts as much as
a top-level one. Four rules:

1. No app imports another app's views (pages are assembled through ``backoffice.page_sections``
   and the menu through ``backoffice.navigation``).
2. Apps are layered; a module never imports an app of a higher layer, nor a sibling app of the
   same layer. The project's wiring (settings, root URLs, WSGI/ASGI, Celery, the run command) is
   the one place that sees every app.
3. Inside an app, ``models``, ``services`` and ``selectors`` never import ``views``, ``api`` or
   ``urls``.
4. No import circle joins modules of different packages, except a service queueing its own
   app's Celery adapter (``<app>.tasks``) that calls it back.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Lower numbers are lower layers. Apps of the same layer are independent of each other.
LAYERS: dict[str, int] = {
    "common": 0,
    "backoffice": 1,
    # The export engine: above the core it uses, below the apps that register their tables.
    "extracts": 1.5,
    "payments": 2,
    "webhooks": 3,
    "qrexpress": 4,
    "reconciliation": 4,
    "sandbox": 4,
}
WIRING = {
    "backoffice.settings",
    "backoffice.urls",
    "backoffice.merchant_urls",
    "backoffice.api.urls",
    "backoffice.wsgi",
    "backoffice.asgi",
    "backoffice.celery",
    "backoffice.run",
}
PAGE_SEGMENTS = {"views", "api", "urls"}
LOW_SEGMENTS = {"models", "services", "selectors"}


def _modules() -> dict[str, Path]:
    modules = {}
    for app in LAYERS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


MODULES = _modules()


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str, path: Path) -> set[str]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        else:
            continue
        for target in targets:
            resolved = _resolve(target)
            if resolved and resolved != module:
                found.add(resolved)
    return found


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def _app(module: str) -> str:
    return module.partition(".")[0]


def _segments(module: str) -> set[str]:
    return set(module.split(".")[1:])


def test_every_app_has_a_layer():
    apps = {path.parent.name for path in ROOT.glob("*/apps.py")}
    assert apps <= set(LAYERS), f"add these apps to LAYERS and docs/ARCHITECTURE.md: {apps - set(LAYERS)}"


def test_no_app_imports_another_apps_views():
    offences = [
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if module not in WIRING
        for target in targets
        if _app(target) != _app(module) and "views" in _segments(target)
    ]
    assert offences == []


def test_no_lower_layer_imports_a_higher_one():
    offences = [
        f"{module} (layer {LAYERS[_app(module)]}) imports {target} (layer {LAYERS[_app(target)]})"
        for module, targets in GRAPH.items()
        if module not in WIRING
        for target in targets
        if _app(target) != _app(module) and LAYERS[_app(target)] >= LAYERS[_app(module)]
    ]
    assert offences == []


def test_models_services_and_selectors_never_import_pages():
    offences = [
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if _segments(module) & LOW_SEGMENTS
        for target in targets
        if _segments(target) & PAGE_SEGMENTS
    ]
    assert offences == []


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for successor in GRAPH.get(node, ()):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in GRAPH:
        if node not in index:
            visit(node)
    return components


def _package(module: str) -> str:
    path = MODULES[module]
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def _through_own_tasks(cycle: list[str]) -> bool:
    """A circle inside one app that passes through that app's Celery adapters (``<app>.tasks``):
    a service queues the task that calls it back. Allowed; any other circle is not."""
    return len({_app(m) for m in cycle}) == 1 and f"{_app(cycle[0])}.tasks" in cycle


def test_no_import_circle_between_packages():
    crossing = [cycle for cycle in _cycles() if len({_package(m) for m in cycle}) > 1 and not _through_own_tasks(cycle)]
    assert crossing == []


def test_the_checks_see_the_imports_they_judge():
    # The graph is not empty by accident: known edges of each kind are present.
    assert "payments.services.ledger" in GRAPH["payments.services.operations"]
    assert "backoffice.page_sections" in GRAPH["webhooks.inbound.views"]
    assert "webhooks.inbound.services" in GRAPH["webhooks.inbound.tasks"]
    assert "common.money" in GRAPH["payments.templatetags.payments"]
