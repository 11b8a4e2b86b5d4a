"""The request id follows a request into the Celery tasks it queues: in eager mode (the task
runs inside the request) and on a real worker process (carried in the message headers by
django-structlog's Celery integration)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import structlog
from django.conf import settings

from revivatech.celery import app
from revivatech.observability.context import REQUEST_ID_HEADER

from . import tasks

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.observability.urls")]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def eager_tasks():
    """Tasks run inside the request, as on the embedded default, whatever broker this run has."""
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


def test_an_eager_task_logs_the_request_id_of_the_request_that_queued_it(client, json_logs, eager_tasks):
    incoming = "req-eager-0123456789"
    response = client.get("/obs-test/enqueue/", {"note": "eager"}, HTTP_X_REQUEST_ID=incoming)

    assert response.status_code == 200
    assert response[REQUEST_ID_HEADER] == incoming
    task_id = response.json()["task_id"]
    ran = json_logs.where(event="observability_test_task_ran")
    assert len(ran) == 1
    assert ran[0]["request_id"] == incoming
    assert ran[0]["task_id"] == task_id and ran[0]["task"] == "tests.observability.log_context"
    assert [line["state"] for line in json_logs.where(event="task_finished", request_id=incoming)] == [
        "SUCCESS"
    ]
    # The task's context is gone afterwards; the request's line is still the request's.
    finished = json_logs.where(event="request_finished", request_id=incoming)[0]
    assert "task_id" not in finished and finished["status"] == 200


def test_publishing_puts_the_request_context_in_the_task_headers(json_logs):
    """What a worker receives: django-structlog's before_task_publish receiver writes the
    context of the request (bound by the middleware) into the message headers. Published for
    real, to an in-memory kombu broker that no worker reads, so it runs on any backend."""
    from celery.signals import before_task_publish

    seen: list[dict] = []

    def capture(headers=None, **kwargs):
        seen.append(dict(headers or {}))

    before_task_publish.connect(capture, weak=False)
    previous_eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        with (
            app.connection_for_write("memory://") as connection,
            structlog.contextvars.bound_contextvars(request_id="req-headers-0123456789", user_id=5),
        ):
            tasks.log_context.apply_async(args=["headers"], queue=tasks.QUEUE, connection=connection)
    finally:
        app.conf.task_always_eager = previous_eager
        before_task_publish.disconnect(capture)

    context = [h["__django_structlog__"] for h in seen if "__django_structlog__" in h]
    assert context and context[-1] == {"request_id": "req-headers-0123456789", "user_id": 5}
    enqueued = json_logs.where(event="task_enqueued", request_id="req-headers-0123456789")
    assert enqueued and enqueued[0]["child_task_name"] == "tests.observability.log_context"


@pytest.fixture
def celery_worker_process(tmp_path):
    """A real ``celery worker`` (solo pool) on the Redis broker, consuming the test queue only,
    its JSON log written to a file."""
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL (a real broker)")
    app.connection_for_write().default_channel.client.delete(tasks.QUEUE)
    log_path = tmp_path / "worker.log"
    env = {**os.environ, "LOG_FORMAT": "json", "LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1"}
    with open(log_path, "w") as log_file:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "revivatech", "worker",
                "-P", "solo", "-Q", tasks.QUEUE, "--include", "tests.observability.tasks",
                "--without-heartbeat", "--without-gossip", "--without-mingle",
            ],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        yield process, log_path
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _json_lines(path: Path) -> list[dict]:
    lines = []
    for raw in path.read_text().splitlines():
        if raw.startswith("{"):
            lines.append(json.loads(raw))
    return lines


@pytest.mark.redis
def test_a_worker_process_logs_the_request_id_of_the_request_that_queued_the_task(
    client, celery_worker_process
):
    process, log_path = celery_worker_process
    incoming = "req-worker-0123456789"
    response = client.get("/obs-test/enqueue/", {"note": "worker"}, HTTP_X_REQUEST_ID=incoming)
    assert response.status_code == 200
    task_id = response.json()["task_id"]

    deadline = time.monotonic() + 60
    succeeded: list[dict] = []
    while time.monotonic() < deadline and not succeeded:
        assert process.poll() is None, log_path.read_text()[-3000:]
        succeeded = [line for line in _json_lines(log_path) if line.get("event") == "task_succeeded"]
        time.sleep(0.2)
    assert succeeded, log_path.read_text()[-3000:]

    lines = _json_lines(log_path)
    ran = [line for line in lines if line.get("event") == "observability_test_task_ran"]
    assert len(ran) == 1
    assert ran[0]["request_id"] == incoming and ran[0]["task_id"] == task_id
    assert succeeded[0]["request_id"] == incoming and "duration_ms" in succeeded[0]
    # The worker's own (Celery's stdlib) lines are JSON too.
    assert any(line.get("logger", "").startswith("celery") for line in lines)
    non_json = [raw for raw in log_path.read_text().splitlines() if raw.strip() and not raw.startswith("{")]
    assert not [raw for raw in non_json if "request_id" in raw]
