"""A quiet first run: `make run` on a fresh SQLite database sets up the demo (one short line per
step, no traceback, emails written to files rather than the terminal), then prints the address and
the logins last and serves on them. Run as a newcomer would, in a subprocess, then stopped."""

from __future__ import annotations

import os
import selectors
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent
#: Fewer simulated customers than the real demo (400) so the test stays short; enough to train on.
SIMULATE_ARGS = "--customers 120 --months 24"
MAX_LINES = 40


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _read_until_banner(process: subprocess.Popen, timeout: float) -> list[str]:
    lines: list[str] = []
    watcher = selectors.DefaultSelector()
    watcher.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not watcher.select(timeout=1):
            if process.poll() is not None:
                break
            continue
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if "Logins:" in line:
            break
    return lines


def test_make_run_on_a_fresh_database_is_quiet_and_ends_with_the_address_and_logins(tmp_path):
    port = _free_port()
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
    env = {key: os.environ[key] for key in keep if key in os.environ}
    env |= {
        "SQLITE_PATH": str(tmp_path / "db.sqlite3"),
        "DJANGO_VAR_DIR": str(tmp_path / "var"),
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        "make", "--no-print-directory", "run", f"VENV={VENV}", "HOST=127.0.0.1", f"PORT={port}",
        f"SIMULATE_ARGS={SIMULATE_ARGS}",
        # never reinstall into the shared virtual environment from a test
        "-o", f"{VENV}/.installed-runtime",
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        lines = _read_until_banner(process, timeout=600)
        output = "\n".join(lines)
        assert "Traceback" not in output and "Error" not in output, output
        assert "Logins: customer / technician / staff" in lines[-1], output
        assert f"RevivaTech is running on http://127.0.0.1:{port}/" in lines[-2], output
        assert len(lines) <= MAX_LINES, output
        assert all(len(line) <= 100 for line in lines if str(tmp_path) not in line), output
        assert f"  {tmp_path / 'var' / 'mail'}/" in lines, output  # where to read the emails
        for step in (
            "Database ready",
            "Demo ready",
            "demo invoices",
            "demo events",
            "Simulated shop",
            "scored",
        ):
            assert sum(step in line for line in lines) == 1, (step, output)
        # the server answers on the address printed (it may take a moment to bind)
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
                    assert answer.status == 200
                break
            except OSError:
                assert process.poll() is None, "the server stopped"
                assert time.monotonic() < deadline, "the server never answered"
                time.sleep(0.5)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    # The demo's emails went to files, with links to the address `make run` serves.
    mails = sorted((tmp_path / "var" / "mail").glob("*.log"))
    assert mails, "no email written to var/mail"
    assert f"http://127.0.0.1:{port}/track/" in "".join(m.read_text() for m in mails)
