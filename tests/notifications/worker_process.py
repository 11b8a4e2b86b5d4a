"""Real Celery workers in subprocesses, for the crash test and the throughput benchmark: the
project's own ``celery -A revivatech worker`` on the Redis broker, pointed at a given database."""

from __future__ import annotations

import os
import sys
import time
import uuid

import redis

from tests.processes import ManagedProcess

QUEUES = "notifications.urgent,notifications.bulk"


def purge_queues(redis_url: str) -> None:
    """Drop task messages other tests left in the notification queues of this Redis database."""
    client = redis.Redis.from_url(redis_url)
    try:
        keys = [
            key
            for pattern in ("notifications.urgent*", "notifications.bulk*")
            for key in client.scan_iter(pattern)
        ]
        if keys:
            client.delete(*keys)
    finally:
        client.close()


class CeleryWorker(ManagedProcess):
    """``celery worker`` as a process group, so a test can SIGKILL it (and its pool) at once."""

    def __init__(self, env: dict[str, str], *, concurrency: int = 2, name: str = "worker") -> None:
        name = f"{name}-{uuid.uuid4().hex[:6]}"
        command = [
            sys.executable, "-m", "celery", "-A", "revivatech", "worker",
            "-Q", QUEUES, "-c", str(concurrency), "--pool", "prefork", "-l", "warning",
            "-n", f"{name}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        super().__init__(command, env={**os.environ, **env}, name=name)
        self.concurrency = concurrency


def wait_for(condition, *, timeout: float, interval: float = 0.05, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout} s")
        time.sleep(interval)


def database_url(settings_dict: dict) -> str:
    """A DATABASE_URL for the database Django is using (the test database during tests)."""
    user = settings_dict.get("USER") or "postgres"
    password = settings_dict.get("PASSWORD") or ""
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    credentials = f"{user}:{password}" if password else user
    return f"postgres://{credentials}@{host}:{port}/{settings_dict['NAME']}"
