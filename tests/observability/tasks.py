"""A test task that logs and returns the log context it runs with. A real worker imports it
with ``--include tests.observability.tasks``."""

import structlog

from revivatech.celery import app

QUEUE = "observability.test"
logger = structlog.get_logger("tests.observability.tasks")


@app.task(name="tests.observability.log_context")
def log_context(note: str = "") -> dict:
    logger.info("observability_test_task_ran", note=note)
    return dict(structlog.contextvars.get_contextvars())
