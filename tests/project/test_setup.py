"""Project set-up: settings from the environment, migrations, deploy checks, compose file."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]


def _run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL", "SITE_URL"))
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, "DJANGO_VAR_DIR": str(ROOT / "var"), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_services_follow_the_environment():
    """CI sets DATABASE_URL and REDIS_URL: the suite must then really run on PostgreSQL and Redis."""
    if os.environ.get("DATABASE_URL"):
        assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    else:
        assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
    if os.environ.get("REDIS_URL"):
        assert settings.CHANNEL_LAYERS["default"]["BACKEND"].startswith("channels_redis.")
        assert settings.CACHES["default"]["BACKEND"] == "revivatech.cache.SharedRedisCache"
        assert settings.CELERY_BROKER_URL.startswith("redis://")
    else:
        assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels.layers.InMemoryChannelLayer"
        assert settings.CELERY_TASK_ALWAYS_EAGER is True


@pytest.mark.django_db
def test_models_and_migrations_agree():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.django_db
def test_migrations_ran_on_the_configured_database():
    from django.db import connection
    from django.db.migrations.recorder import MigrationRecorder

    applied = MigrationRecorder(connection).applied_migrations()
    assert ("repairs", "0001_initial") in applied
    expected = "postgresql" if os.environ.get("DATABASE_URL") else "sqlite"
    assert connection.vendor == expected


def test_deploy_check_passes_with_production_settings():
    result = _run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_PRODUCTION="1",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="shop.example.com",
        SITE_URL="https://shop.example.com",
        DEFAULT_FROM_EMAIL="RevivaTech <repairs@shop.example.com>",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    result = _run_manage("check", DJANGO_PRODUCTION="1")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_bad_boolean_setting_is_a_clear_start_up_error():
    result = _run_manage("check", DJANGO_DEBUG="maybe")
    assert result.returncode != 0
    assert "DJANGO_DEBUG must be a boolean" in result.stderr


def test_docker_compose_is_valid_compose_syntax():
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "check-jsonschema"),
            "--builtin-schema",
            "vendor.compose-spec",
            "docker-compose.yml",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    services = _compose()["services"]
    assert {"postgres", "redis", "migrate", "web1", "web2", "proxy", "worker", "beat"} <= set(services)
    # every long-running service has a health check (migrate runs once and exits)
    assert [name for name, spec in services.items() if "healthcheck" not in spec] == ["migrate"]


def _compose() -> dict:
    import yaml

    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _worker_queues(command: list[str]) -> list[str]:
    for flag in ("-Q", "--queues"):
        if flag in command:
            return command[command.index(flag) + 1].split(",")
    for arg in command:
        if arg.startswith("--queues="):
            return arg.split("=", 1)[1].split(",")
    return []


def test_compose_worker_consumes_exactly_the_queues_the_code_declares():
    """The worker's -Q must name every queue revivatech/celery.py declares (tasks routed to a queue
    nobody reads wait for ever) and no other; the urgent queue first (priority order)."""
    from notifications.services.delivery import BULK_QUEUE, URGENT_QUEUE
    from revivatech.celery import app

    declared = [queue.name for queue in app.conf.task_queues]
    command = _compose()["services"]["worker"]["command"]
    queues = _worker_queues(command)
    assert queues, f"the compose worker must pass -Q: {command}"
    assert set(queues) == set(declared)
    assert len(queues) == len(set(queues))
    assert queues[0] == URGENT_QUEUE
    # the code routes to these names, and the metrics report the same queues
    assert {URGENT_QUEUE, BULK_QUEUE, app.conf.task_default_queue} <= set(declared)
    assert set(settings.METRICS_CELERY_QUEUES) == set(declared)


def test_compose_web_uses_the_connection_pool_under_uvicorn():
    services = _compose()["services"]
    assert services["web1"] == services["web2"]  # one definition (x-web), two processes
    web = services["web1"]
    env = web["environment"]
    assert "uvicorn" in web["command"]
    assert str(env["DATABASE_POOL_MAX_SIZE"]).endswith("8}")  # ${DATABASE_POOL_MAX_SIZE:-8}
    assert str(env["DATABASE_CONN_MAX_AGE"]) == "0"
    # the anchor's settings are still there after the merge
    assert env["DJANGO_PRODUCTION"] == "1" and "DATABASE_URL" in env
