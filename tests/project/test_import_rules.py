"""The one-way import rule: apps use the project kernel (``revivatech/``), never the reverse, and
the apps' own dependencies form no cycle. Checked on the source with ``ast``, so a new import that
breaks the rule fails here rather than as a circular-import error at start-up."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("analytics", "demo", "notifications", "payments", "repairs")
KERNEL = "revivatech"

#: Kernel modules that must name apps, and why. Only these may import an app at module level.
KERNEL_MODULE_LEVEL_EXCEPTIONS = {
    # The WebSocket URL table gathers each app's routes (like urls.py, which uses include strings).
    ("revivatech/routing.py", "analytics.dashboard.routing"),
    ("revivatech/routing.py", "repairs.routing"),
    # The ASGI entry point mounts analytics' lean event-beacon route in front of Django.
    ("revivatech/asgi.py", "analytics.asgi"),
}
#: Kernel functions that read app data lazily, and why (imported when called, never at start-up).
KERNEL_FUNCTION_LEVEL_EXCEPTIONS = {
    # The Prometheus collectors count app rows and sockets at scrape time.
    ("revivatech/observability/metrics.py", "notifications.models"),
    ("revivatech/observability/metrics.py", "payments.models"),
    ("revivatech/observability/metrics.py", "repairs.realtime"),
}
#: App-to-app imports inside functions that close a cycle, and why.
APP_FUNCTION_LEVEL_CYCLE_EXCEPTIONS: set[tuple[str, str]] = set()


def _imports(package: str):
    """(file, imported module, at module level?) for every absolute import in ``package``."""
    for path in sorted((ROOT / package).rglob("*.py")):
        if "migrations" in path.parts:
            continue  # frozen history; Django loads migrations by app label, not by import
        tree = ast.parse(path.read_text(), filename=str(path))
        in_function = {
            id(inner)
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            for inner in ast.walk(node)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                yield path.relative_to(ROOT).as_posix(), module, id(node) not in in_function


def _top(module: str) -> str:
    return module.split(".", 1)[0]


def test_the_kernel_imports_no_app_at_module_level():
    found = {
        (path, module)
        for path, module, module_level in _imports(KERNEL)
        if module_level and _top(module) in APPS
    }
    assert found - KERNEL_MODULE_LEVEL_EXCEPTIONS == set()


def test_the_kernel_reads_apps_lazily_only_where_documented():
    found = {
        (path, module)
        for path, module, module_level in _imports(KERNEL)
        if not module_level and _top(module) in APPS
    }
    assert found - KERNEL_FUNCTION_LEVEL_EXCEPTIONS == set()


def _app_graph(*, module_level_only: bool) -> dict[str, dict[str, set[tuple[str, str]]]]:
    graph: dict[str, dict[str, set[tuple[str, str]]]] = defaultdict(lambda: defaultdict(set))
    for app in APPS:
        for path, module, module_level in _imports(app):
            target = _top(module)
            if target in APPS and target != app and (module_level or not module_level_only):
                if not module_level and (path, module) in APP_FUNCTION_LEVEL_CYCLE_EXCEPTIONS:
                    continue
                graph[app][target].add((path, module))
    return graph


def _cycles(graph) -> list[list[str]]:
    """Every elementary cycle through the apps (there are four: brute force is fine)."""
    cycles = []

    def walk(start: str, node: str, trail: list[str]) -> None:
        for target in sorted(graph[node]):
            if target == start:
                cycles.append([*trail, start])
            elif target not in trail and target > start:  # each cycle once, from its least app
                walk(start, target, [*trail, target])

    for app in APPS:
        walk(app, app, [app])
    return cycles


def test_the_apps_import_each_other_without_cycles():
    graph = _app_graph(module_level_only=False)
    cycles = _cycles(graph)
    detail = {
        " -> ".join(cycle): sorted(edge for a, b in zip(cycle, cycle[1:]) for edge in graph[a][b])
        for cycle in cycles
    }
    assert cycles == [], detail


def test_the_cycle_exceptions_are_still_needed():
    # A documented exception that no longer exists in the source is removed from the list.
    imports = {(path, module) for app in APPS for path, module, _level in _imports(app)}
    assert imports >= APP_FUNCTION_LEVEL_CYCLE_EXCEPTIONS


# --- inside analytics: parts with one-way dependencies ------------------------------------------------
#
# analytics.services (ingestion, storage: the bottom layer) is used by monitoring and scoring, and all
# of them by the dashboard; a part above the storage keeps its aggregates through the storage's hooks
# (``storage.on_stored``, registered in analytics/apps.py), never by being imported by it.

#: Analytics' parts above the storage.
ANALYTICS_UPPER_PARTS = ("analytics.dashboard", "analytics.monitoring", "analytics.scoring")
ANALYTICS_SUBPACKAGES = (
    "analytics.services",
    *ANALYTICS_UPPER_PARTS,
    "analytics.management",
    "analytics.templatetags",
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _analytics_modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for path in sorted((ROOT / "analytics").rglob("*.py"))
        if "migrations" not in path.parts
    }


def _analytics_imports():
    """(importing module, imported analytics module, private name used from it or None) for every
    import inside analytics, relative ones resolved, at module or function level alike. A private
    name is one imported (``from .storage import _upsert``) or read off an imported module
    (``storage._upsert``)."""
    modules = _analytics_modules()

    def known(name: str) -> str:
        while name not in modules and "." in name:
            name = name.rsplit(".", 1)[0]  # a name inside a module, or a module outside the index
        return name

    for importer, path in modules.items():
        package = importer if path.name == "__init__.py" else importer.rsplit(".", 1)[0]
        tree = ast.parse(path.read_text(), filename=str(path))
        bound: dict[str, str] = {}  # local name -> analytics module it is bound to
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if _top(alias.name) == "analytics":
                        yield importer, known(alias.name), None
                        if alias.asname:
                            bound[alias.asname] = known(alias.name)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    source = ".".join([*base, node.module] if node.module else base)
                else:
                    source = node.module or ""
                if _top(source) != "analytics":
                    continue
                for alias in node.names:
                    submodule = f"{source}.{alias.name}"
                    if submodule in modules:
                        yield importer, submodule, None
                        bound[alias.asname or alias.name] = submodule
                    else:
                        private = alias.name.startswith("_") and not alias.name.startswith("__")
                        yield importer, known(source), alias.name if private else None
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in bound
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                yield importer, bound[node.value.id], node.attr


def _analytics_part(module: str) -> str:
    """The part a module belongs to: its subpackage, else itself (a top-level module). A part's
    ``models`` module belongs to ``analytics.models``: one Django app, whose models module names
    them all (explicit imports) so that Django registers them under the ``analytics`` label."""
    if module.endswith(".models"):
        return "analytics.models"
    return next((part for part in ANALYTICS_SUBPACKAGES if module.startswith(part + ".")), module)


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of nodes that reach each other (Tarjan), groups of two or more only."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_analytics_storage_imports_no_part_above_it():
    found = {
        (importer, module)
        for importer, module, _private in _analytics_imports()
        if _analytics_part(importer) == "analytics.services"
        and module.startswith(tuple(f"{part}." for part in ANALYTICS_UPPER_PARTS) + ANALYTICS_UPPER_PARTS)
    }
    assert found == set()


def test_analytics_modules_import_each_other_without_cycles():
    graph: dict[str, set[str]] = defaultdict(set)
    for importer, module, _private in _analytics_imports():
        if module != importer:
            graph[importer].add(module)
    assert _strongly_connected(graph) == []


def test_analytics_parts_import_each_other_without_cycles():
    graph: dict[str, set[str]] = defaultdict(set)
    edges: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
    for importer, module, _private in _analytics_imports():
        source, target = _analytics_part(importer), _analytics_part(module)
        if source != target:
            graph[source].add(target)
            edges[(source, target)].add((importer, module))
    groups = _strongly_connected(graph)
    detail = {
        " <-> ".join(group): sorted(
            edge for (a, b), found in edges.items() if {a, b} <= set(group) for edge in found
        )
        for group in groups
    }
    assert groups == [], detail


def test_no_analytics_part_uses_another_parts_private_names():
    found = {
        (importer, f"{module}.{name}")
        for importer, module, name in _analytics_imports()
        if name and _analytics_part(importer) != _analytics_part(module)
    }
    assert found == set()


def test_the_analytics_import_graph_sees_relative_and_function_level_imports():
    # The rules above are only as good as the graph: relative imports (``from . import notify``
    # included) and imports inside functions (AnalyticsConfig.ready()) must appear in it.
    edges = {(importer, module) for importer, module, _private in _analytics_imports()}
    assert ("analytics.services.storage", "analytics.models") in edges
    assert ("analytics.services.buffer", "analytics.services.storage") in edges
    assert ("analytics.monitoring.services.detection", "analytics.monitoring.services.notify") in edges
    assert ("analytics.apps", "analytics.dashboard.rollups") in edges  # inside ready()
