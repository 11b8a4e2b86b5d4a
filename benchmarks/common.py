"""What every benchmark shares: names that cannot collide with another checkout's, and the checks
that make a run (``--smoke`` or full) fail loudly when the benchmark could not run as documented.

``--smoke`` runs a benchmark's own code path on tiny sizes in seconds (``make bench-smoke`` runs them
all; ``tests/benchmarks/test_smoke.py`` runs each as a subprocess in ``make test``): its figures mean
nothing, its exit status does.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent

PG_SERVER = "postgres://postgres@127.0.0.1:5432"


def _base_database() -> tuple[str, str]:
    """(server URL, database name) of ``DATABASE_URL`` when it is PostgreSQL, else the local server."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        parts = urlsplit(url)
        name = parts.path.lstrip("/") or "revivatech"
        return f"{parts.scheme}://{parts.netloc}", name
    return PG_SERVER, "revivatech"


def own_database(kind: str) -> str:
    """The name of a benchmark's own database, derived from ``DATABASE_URL``'s database (each
    developer, helper and CI job has its own), e.g. ``h3`` -> ``h3_bench_realtime``: two checkouts
    benchmarking at once never share (nor drop) each other's data."""
    _, name = _base_database()
    return f"{name}_{kind}"[:63]


def own_database_url(kind: str) -> str:
    server, _ = _base_database()
    return f"{server}/{own_database(kind)}"


def static_root() -> str:
    """Collected static files of this checkout (one folder per checkout: never another's manifest)."""
    return f"/tmp/revivatech-bench-static-{hashlib.sha1(str(ROOT).encode()).hexdigest()[:10]}"


def _static_fingerprint() -> str:
    """Every static source file of this checkout (path, size, mtime) and the interpreter: when none
    changed, the collected (hashed, compressed) files are still right."""
    digest = hashlib.sha1(sys.executable.encode())
    for folder in sorted(ROOT.glob("**/static")):
        if any(part.startswith(".") or part == "node_modules" for part in folder.relative_to(ROOT).parts):
            continue
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                stat = path.stat()
                digest.update(f"{path.relative_to(ROOT)}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def collect_static(env: dict[str, str]) -> None:
    """``collectstatic`` into ``env["STATIC_ROOT"]`` unless it already holds this checkout's files:
    compressing every file costs ~45 s of CPU, paid once instead of on every run."""
    stamp = Path(env["STATIC_ROOT"]) / ".collected-from"
    fingerprint = _static_fingerprint()
    if stamp.exists() and stamp.read_text() == fingerprint:
        return
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    stamp.write_text(fingerprint)


class Checks:
    """Collects what went wrong; :meth:`exit_status` prints it and answers 1 (0 when all held)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.failures: list[str] = []

    def require(self, condition: bool, what: str) -> bool:
        if not condition:
            self.failures.append(what)
        return condition

    def exit_status(self) -> int:
        if self.failures:
            print(f"\n{self.name}: FAILED, the benchmark did not run as documented:", file=sys.stderr)
            for failure in self.failures:
                print(f"  - {failure}", file=sys.stderr)
            return 1
        print(f"\n{self.name}: ran as documented (every check held)")
        return 0


def stop(process: subprocess.Popen) -> None:
    """Stop a server started in its own session (``start_new_session=True``) with everything it
    started: SIGTERM to the group, SIGKILL after 15 s."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
