"""Real Celery workers in subprocesses, for the crash test and the throughput benchmark: the
project's own ``celery -A revivatech worker`` on the Redis broker, pointed at a given database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent.parent
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


class CeleryWorker:
    """``celery worker`` as a process group, so a test can SIGKILL it (and its pool) at once."""

    def __init__(self, env: dict[str, str], *, concurrency: int = 2, name: str = "worker") -> None:
        self.env = {**os.environ, **env}
        self.concurrency = concurrency
        self.name = f"{name}-{uuid.uuid4().hex[:6]}"
        self.log = tempfile.NamedTemporaryFile("w+", prefix=f"{self.name}-", suffix=".log", delete=False)  # noqa: SIM115
        self.process: subprocess.Popen | None = None

    def start(self) -> CeleryWorker:
        command = [
            sys.executable, "-m", "celery", "-A", "revivatech", "worker",
            "-Q", QUEUES, "-c", str(self.concurrency), "--pool", "prefork", "-l", "warning",
            "-n", f"{self.name}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            command, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        return self

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes in one go (a crash, an OOM kill)."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self, timeout: float = 15) -> None:
        if not self.process or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")[-4000:]

    def __enter__(self) -> CeleryWorker:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


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
