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
