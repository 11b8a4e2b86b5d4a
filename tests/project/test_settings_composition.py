"""Settings read top to bottom: the modules of revivatech/settings/ define disjoint names and none
changes a value another module defined, so the order the package imports them in cannot matter;
what several modules contribute to is composed explicitly in the package (``__init__``)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from django.conf import settings

from revivatech.settings.base import BASE_DIR

SETTINGS_DIR = BASE_DIR / "revivatech" / "settings"
MODULES = sorted(p for p in SETTINGS_DIR.glob("*.py") if p.name != "__init__.py")


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _defined(tree: ast.Module) -> set[str]:
    names = set()
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        names |= {t.id for t in targets if isinstance(t, ast.Name) and t.id.isupper()}
    return names


def _imported_from_siblings(tree: ast.Module) -> set[str]:
    return {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level == 1
        for alias in node.names
    }


def test_no_two_settings_modules_define_the_same_name():
    owners = defaultdict(list)
    for path in MODULES:
        for name in _defined(_tree(path)):
            owners[name].append(path.name)
    assert {name: where for name, where in owners.items() if len(where) > 1} == {}


def test_no_settings_module_changes_what_another_defined():
    edits = []
    for path in MODULES:
        tree = _tree(path)
        borrowed = _imported_from_siblings(tree)
        for node in ast.walk(tree):
            target = None
            if isinstance(node, ast.Assign | ast.AugAssign):
                for t in node.targets if isinstance(node, ast.Assign) else [node.target]:
                    while isinstance(t, ast.Subscript | ast.Attribute):
                        t = t.value
                        target = t
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                target = node.func.value
                while isinstance(target, ast.Subscript | ast.Attribute):
                    target = target.value
                if node.func.attr not in {"append", "extend", "update", "setdefault", "insert", "pop"}:
                    target = None
            if isinstance(target, ast.Name) and target.id in borrowed:
                edits.append(f"{path.name}:{node.lineno} changes {target.id}")
    assert edits == []


def test_the_settings_are_the_same_whatever_order_the_modules_load_in():
    """Import the modules in reverse order first (each then reads its siblings as they stand), and
    compare a fingerprint of every setting with the package's own."""
    script = (
        "import importlib, json, re, sys\n"
        "names = sys.argv[1:]\n"
        "for name in names: importlib.import_module('revivatech.settings.' + name)\n"
        "import revivatech.settings as s\n"
        "plain = lambda v: re.sub(' at 0x[0-9a-f]+', '', repr(v))  # objects: their type, not address\n"
        "print(json.dumps({k: plain(getattr(s, k)) for k in dir(s) if k.isupper()}, sort_keys=True))\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "revivatech.settings"}

    def fingerprint(order):
        done = subprocess.run(
            [sys.executable, "-c", script, *order], capture_output=True, text=True, env=env, cwd=BASE_DIR
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    names = [p.stem for p in MODULES]
    assert fingerprint(list(reversed(names))) == fingerprint(names)


def test_the_composed_settings_contain_every_part():
    assert settings.MIDDLEWARE[0] == "revivatech.observability.middleware.RequestIdMiddleware"
    assert "django_structlog" in settings.INSTALLED_APPS and "repairs" in settings.INSTALLED_APPS
    assert {"notifications-sweep-outbox", "payments-reconcile"} <= set(settings.CELERY_BEAT_SCHEDULE)
    assert all("filters" in handler for handler in settings.LOGGING["handlers"].values())
