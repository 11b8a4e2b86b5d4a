"""The small harness the fault scenarios share: a private redis-server, a TCP proxy that can refuse
and cut connections, the real site (uvicorn) and Celery workers as subprocesses, a /readyz poller.

Everything listens on 127.0.0.1 only. The shared PostgreSQL (5432) and Redis (6379) are never
stopped or reconfigured: PostgreSQL is reached through :class:`TcpProxy` when a scenario breaks it,
and Redis is a private ``redis-server`` this harness starts (and restarts) itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import collect_static, own_database, static_root  # noqa: E402
from tests.processes import ManagedProcess, free_port, wait_until  # noqa: E402, F401 - shared with the tests

PG_HOST, PG_PORT = "127.0.0.1", 5432
#: Our own database, named after DATABASE_URL's (h3 -> h3_faults): never another checkout's.
FAULT_DB = os.environ.get("FAULTS_DATABASE") or own_database("faults")
STATIC_ROOT = static_root()
SECRET_KEY = secrets.token_urlsafe(50)


# Free loopback ports unless given: two runs at once (other checkouts, CI) never meet.
REDIS_PORT = int(os.environ.get("FAULTS_REDIS_PORT") or 0) or free_port()
PG_PROXY_PORT = int(os.environ.get("FAULTS_PG_PROXY_PORT") or 0) or free_port()


def database_url(port: int = PG_PORT, name: str = FAULT_DB) -> str:
    return f"postgres://postgres@{PG_HOST}:{port}/{name}"


def ensure_database(name: str = FAULT_DB) -> None:
    import psycopg

    with psycopg.connect(f"postgres://postgres@{PG_HOST}:{PG_PORT}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def terminate_backends(name: str = FAULT_DB) -> None:
    """Close the connections killed processes left behind in our own database (this process's
    own Django connections are closed first, and reopen when next used)."""
    import psycopg
    from django.db import connections

    connections.close_all()

    with psycopg.connect(f"postgres://postgres@{PG_HOST}:{PG_PORT}/postgres", autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
            "AND pid <> pg_backend_pid()",
            (name,),
        )


# --- a private Redis ---------------------------------------------------------------------------


class PrivateRedis:
    """``redis-server`` on a loopback port of our own, without persistence (as the shared one)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or REDIS_PORT
        self.dir = tempfile.mkdtemp(prefix=f"faults-redis-{port}-")
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        if shutil.which("redis-server") is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.process = subprocess.Popen(  # noqa: S603
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.dir,
                "--loglevel",
                "warning",
            ],  # fmt: skip
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not self.ping():
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on port {self.port} did not start")
            time.sleep(0.05)
        return self

    def ping(self) -> bool:
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def shutdown_nosave(self) -> None:
        """``SHUTDOWN NOSAVE``: the server exits at once and everything queued in it is gone."""
        import redis

        client = redis.Redis(port=self.port, socket_timeout=2)
        with contextlib.suppress(redis.RedisError):
            client.shutdown(nosave=True)
        client.close()
        if self.process:
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.shutdown_nosave()
        shutil.rmtree(self.dir, ignore_errors=True)


# --- a TCP proxy that can refuse ---------------------------------------------------------------


class TcpProxy:
    """An asyncio TCP proxy in a background thread: 127.0.0.1:<port> -> target.

    ``refuse()`` stops listening (new connections get ECONNREFUSED) and cuts every open connection;
    ``allow()`` listens again on the same port.
    """

    def __init__(self, listen_port: int, target_host: str, target_port: int) -> None:
        self.port = listen_port
        self.target = (target_host, target_port)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True, name=f"proxy-{listen_port}")
        self.server: asyncio.AbstractServer | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.accepted = 0

    def _call(self, coro, timeout: float = 10):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _handle(self, client_reader, client_writer) -> None:
        self.accepted += 1
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.close()
            return
        pair = {client_writer, upstream_writer}
        self.writers |= pair
        try:
            await asyncio.gather(
                self._pipe(client_reader, upstream_writer), self._pipe(upstream_reader, client_writer)
            )
        finally:
            self.writers -= pair

    async def _listen(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True)

    async def _refuse(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for writer in list(self.writers):
            transport = writer.transport
            with contextlib.suppress(Exception):
                transport.abort()  # RST: the peer sees the connection die, as when a server crashes
        self.writers.clear()

    def start(self) -> TcpProxy:
        self.thread.start()
        self._call(self._listen())
        return self

    def refuse(self) -> None:
        self._call(self._refuse())

    def allow(self) -> None:
        self._call(self._listen())

    async def _shutdown(self) -> None:
        await self._refuse()
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._call(self._shutdown())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        if not self.thread.is_alive():
            self.loop.close()


# --- the site and the workers ------------------------------------------------------------------


def site_env(database: str, redis_url: str, **extra: str) -> dict[str, str]:
    """The environment of the site, the workers and this process (Django settings)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "REDIS_URL", "CHANNEL_LAYER", "CELERY_"))
    }
    env.update(
        DATABASE_URL=database,
        REDIS_URL=redis_url,
        DJANGO_SECRET_KEY=SECRET_KEY,
        DJANGO_DEBUG="0",
        LOG_LEVEL=os.environ.get("FAULTS_LOG_LEVEL", "CRITICAL"),
        STATIC_ROOT=STATIC_ROOT,
        CACHE_KEY_PREFIX="faults",
        # The fault clients are a handful of loopback clients doing many operations: the per-IP
        # abuse limits (issue #9, C1) are raised for these runs, they are not what is measured.
        ANALYTICS_RATE_LIMIT_IP_PER_MINUTE="1000000",
        ANALYTICS_RATE_LIMIT_VISITOR_PER_MINUTE="1000000",
        RATE_LIMIT_BOOKING_IP="1000000/minute",
        RATE_LIMIT_BOOKING_USER="1000000/minute",
        RATE_LIMIT_API_WRITE_IP="1000000/minute",
        RATE_LIMIT_API_WRITE_USER="1000000/minute",
    )
    env.update(extra)
    return env


class Site(ManagedProcess):
    """``uvicorn revivatech.asgi:application`` in a subprocess (``workers`` > 1: uvicorn's own
    process manager)."""

    def __init__(self, env: dict[str, str], *, workers: int = 1, port: int | None = None) -> None:
        self.workers = workers
        self.port = port or free_port()
        command = [
            str(Path(sys.executable).parent / "uvicorn"), "revivatech.asgi:application",
            "--host", "127.0.0.1", "--port", str(self.port), "--lifespan", "off",
            "--log-level", "warning", "--ws", "websockets-sansio", "--backlog", "2048",
            "--workers", str(workers), "--no-access-log",
        ]  # fmt: skip
        super().__init__(
            command, env=env, name="faults-site", keep_log=bool(os.environ.get("FAULTS_KEEP_LOGS"))
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120) -> Site:
        super().start()
        ready = wait_until(
            lambda: http_status(f"{self.url}/healthz", timeout=1) == 200 or not self.running,
            timeout=timeout,
            interval=0.2,
        )
        if not (ready and self.running):
            self.stop()
            raise RuntimeError(f"the site did not start:\n{self.output()}")
        return self


def http_status(url: str, timeout: float = 2.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0  # no answer at all


@dataclass
class ReadyzPoller:
    """Polls ``/readyz`` every ``interval`` seconds in a thread and keeps (monotonic time, status)."""

    base_url: str
    interval: float = 0.1
    samples: list[tuple[float, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="readyz-poller")

    def _run(self) -> None:
        while not self._stop.is_set():
            asked_at = time.monotonic()  # a sample counts when it was asked, not when it was answered
            self.samples.append((asked_at, http_status(f"{self.base_url}/readyz", timeout=3)))
            self._stop.wait(self.interval)

    def __enter__(self) -> ReadyzPoller:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)

    def between(self, start: float, end: float) -> list[int]:
        return [status for moment, status in self.samples if start <= moment <= end]

    def summary(self, start: float, end: float) -> str:
        """What /readyz said while the dependency was down, e.g. ``503 x38``."""
        during = self.between(start, end)
        counts: dict[int, int] = {}
        for status in during:
            counts[status] = counts.get(status, 0) + 1
        return ", ".join(f"{status or 'no answer'} x{n}" for status, n in sorted(counts.items())) or "-"

    def first_ok_after(self, moment: float) -> float | None:
        return next((t for t, status in self.samples if t >= moment and status == 200), None)


@dataclass
class Result:
    """One row of the final table."""

    fault: str
    attempted: int
    lost: int
    duplicated: int
    recovery_s: float | None
    readyz: str
    notes: list[str] = field(default_factory=list)
    ok: bool = True


def setup_django(env: dict[str, str]) -> None:
    """Configure Django in this process (the harness writes data through the services)."""
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "revivatech.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    collect_static(env)
