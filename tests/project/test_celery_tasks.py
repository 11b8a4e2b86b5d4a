"""Every Celery task the code refers to by name is registered in every process that may queue it
(web, management commands, eager mode), not only in a worker that ran autodiscovery."""

from __future__ import annotations

import ast
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ["repairs", "notifications", "payments", "analytics", "revivatech"]
#: Calls whose first argument names a task.
BY_NAME = {"send_task", "signature", "_enqueue_after_commit", "send_task_by_name"}


def _module_of(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def referenced_task_names() -> dict[str, str]:
    """Task name → where the code refers to it (calls by name, ``app.tasks[...]``, beat schedule)."""
    found: dict[str, str] = {}
    for package in SOURCES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                arg = None
                if isinstance(node, ast.Call) and node.args:
                    func = node.func
                    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                    if name in BY_NAME:
                        arg = node.args[0]
                elif (
                    isinstance(node, ast.Subscript)
                    and isinstance(node.value, ast.Attribute)
                    and node.value.attr == "tasks"
                ):
                    arg = node.slice
                if arg is None:
                    continue
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found[arg.value] = where
                elif isinstance(arg, ast.Name) and arg.id.isupper():  # a module constant
                    value = getattr(importlib.import_module(_module_of(path)), arg.id, None)
                    if isinstance(value, str):
                        found[value] = where
    for entry, schedule in settings.CELERY_BEAT_SCHEDULE.items():
        found[schedule["task"]] = f"CELERY_BEAT_SCHEDULE[{entry!r}]"
    return found


def registered_in_a_fresh_process() -> set[str]:
    code = (
        "import json, django; django.setup(); from revivatech.celery import app; "
        "print(json.dumps(sorted(app.tasks)))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL"))}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "revivatech.settings", "DJANGO_VAR_DIR": str(ROOT / "var")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def test_the_scan_finds_the_tasks_queued_by_name():
    names = referenced_task_names()
    assert {"repairs.render_photo_variants", "notifications.deliver", "notifications.sweep"} <= set(names)


def test_every_task_referenced_by_name_is_registered_once_django_is_set_up():
    registered = registered_in_a_fresh_process()
    missing = {name: where for name, where in referenced_task_names().items() if name not in registered}
    assert not missing, f"tasks referenced but not registered: {missing}"
