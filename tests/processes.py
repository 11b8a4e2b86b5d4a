"""The project's own processes (uvicorn, Celery workers, beat) run as real subprocesses, for the
tests and benchmarks that need them: the crash test, the fault suite, the throughput and load
benchmarks and the end-to-end suite (tests/e2e) all start them through :class:`ManagedProcess`.

Each process is its own process group (so a SIGKILL takes a Celery worker and its pool at once,
as an OOM kill or a crash does), and writes stdout and stderr to a log file whose tail is shown
when something goes wrong.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port nobody listens on right now (127.0.0.1)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition: Callable[[], object], *, timeout: float, interval: float = 0.05) -> bool:
    """Poll ``condition`` until it is true (True) or ``timeout`` seconds passed (False)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True


class ManagedProcess:
    """One command in its own process group, logging to a file.

    ``stop()`` asks politely (SIGTERM to the group), then SIGKILLs after ``timeout``; ``kill()``
    is the crash. ``output()`` is the log's tail; ``close()`` removes the log (unless
    ``keep_log`` or ``KEEP_PROCESS_LOGS=1``: then its path is printed).
    """

    def __init__(
        self,
        command: Sequence[str],
        *,
        env: dict[str, str],
        name: str,
        cwd: Path | str = ROOT,
        log_dir: Path | str | None = None,
        keep_log: bool = False,
    ) -> None:
        self.command = list(command)
        self.env = env
        self.name = name
        self.cwd = cwd
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in close()
            "w+", prefix=f"{name}-", suffix=".log", dir=log_dir, delete=False
        )
        self.keep_log = keep_log or bool(os.environ.get("KEEP_PROCESS_LOGS"))
        self.process: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> ManagedProcess:
        self.process = subprocess.Popen(  # noqa: S603 - our own commands
            self.command,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def kill(self) -> None:
        """SIGKILL the whole group at once (a crash, an OOM kill)."""
        if self.running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self, timeout: float = 15) -> None:
        if not self.running:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            self.kill()

    def terminate(self, timeout: float = 60) -> None:
        """SIGTERM to the command itself, as ``docker stop`` signals a container's main process
        (a Celery worker then finishes its tasks in hand: warm shutdown; uvicorn its requests in
        flight); SIGKILL to the group after ``timeout``, and to whatever it left behind."""
        if not self.running:
            return
        try:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def text(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")

    def output(self, tail: int = 4000) -> str:
        return self.text()[-tail:]

    def close(self) -> None:
        self.stop()
        self.log.close()
        if self.keep_log:
            print(f"{self.name} log: {self.log.name}")
        else:
            Path(self.log.name).unlink(missing_ok=True)

    def __enter__(self) -> ManagedProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
