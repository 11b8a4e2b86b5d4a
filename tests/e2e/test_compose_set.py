"""The set itself: what runs is what docker-compose.yml says, in production mode, and healthy."""

from __future__ import annotations

import importlib.util

from .compose import APP_SERVICES, read_services


def test_every_service_passes_its_compose_healthcheck(stack):
    for service in (*stack.web_instances, *stack.worker_instances):
        done = stack.run_healthcheck(service)
        assert done.returncode == 0, f"{service}: {stack.healthcheck(service)}\n{done.stdout}\n{done.stderr}"
    beat = stack.run_healthcheck("beat")
    # The image's Python has gdbm, so beat's shelve file is exactly the name compose tests; a
    # Python built without it writes a suffixed file (see ComposeStack.beat_schedule_written).
    assert beat.returncode == 0 or (
        importlib.util.find_spec("_gdbm") is None and stack.beat_schedule_written()
    )


def test_the_set_runs_with_production_settings_and_real_workers(stack):
    facts = stack.manage("settings")
    assert facts["production"] is True
    assert facts["debug"] is False
    assert facts["eager"] is False  # tasks go through Redis to the worker process
    assert facts["broker"] == "redis"
    assert facts["database"] == stack.db_name
    assert facts["email_backend"] == "django.core.mail.backends.smtp.EmailBackend"


def test_the_processes_run_composes_own_commands(stack):
    """Only loopback addresses, ports and paths differ from what the compose file says."""
    as_written = read_services(stack.variables)
    ran = {p.name: p.command for p in [*stack.retired, *stack.processes.values()]}
    for instance, service in stack.instances.items():
        if service in APP_SERVICES:
            localiser = stack.localiser(instance)
            assert localiser.command(as_written[service].command) == stack.command(instance)
            assert ran[f"e2e-{instance}"] == stack.command(instance)
    assert set(stack.instances.values()) == {*APP_SERVICES, "proxy"}
    assert len(stack.web_instances) == 2 and len(stack.worker_instances) == 2
    worker = stack.command("worker-1")
    queues = set(worker[worker.index("-Q") + 1].split(","))
    from revivatech.celery import app

    # every queue the code routes to is read by compose's worker
    assert {queue.name for queue in app.conf.task_queues} <= queues
