"""``make bench-smoke``: every benchmark's ``--smoke`` mode in sequence, each as its own process, then
one table (name, seconds, exit status). Exit status 1 when any of them failed.

A smoke run is the benchmark's own code path on tiny sizes: it catches a benchmark that no longer
runs as documented (requests refused by a limit added later, figures missing, nothing stored,
messages lost) in seconds, without measuring anything. ``tests/benchmarks/test_smoke.py`` runs the
same commands in the test suite.

    .venv/bin/python benchmarks/smoke.py                     # all of them
    .venv/bin/python benchmarks/smoke.py realtime analytics  # some of them
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: name -> the command after the interpreter (as the Makefile's target runs it, plus --smoke)
SMOKES: dict[str, list[str]] = {
    "realtime": ["benchmarks/realtime_latency.py", "--smoke"],
    "realtime_processes": ["benchmarks/realtime_processes.py", "--smoke"],
    "analytics": ["benchmarks/analytics_ingest.py", "--smoke"],
    "ingest_ceiling": ["benchmarks/ingest_ceiling.py", "--smoke"],
    "dashboard": ["benchmarks/dashboard_queries.py", "--smoke"],
    "notifications": ["benchmarks/notifications_throughput.py", "--smoke"],
    "faults": ["-m", "benchmarks.faults", "--smoke"],
    "load": ["benchmarks/load_mixed.py", "--smoke"],
    "lighthouse": ["benchmarks/lighthouse_budget.py", "--smoke"],
    "fuzz": ["tests/security/run_fuzz.py", "--smoke"],
    "ready_by": ["benchmarks/ready_by.py", "--smoke"],
}


def command(name: str) -> list[str]:
    return [sys.executable, *SMOKES[name]]


def environment() -> dict[str, str]:
    """The benchmarks derive their databases' names from DATABASE_URL (PostgreSQL on 127.0.0.1 by
    default); every other setting is their own."""
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


def main(names: list[str]) -> int:
    chosen = names or list(SMOKES)
    unknown = [name for name in chosen if name not in SMOKES]
    if unknown:
        sys.exit(f"unknown smoke(s): {', '.join(unknown)}; known: {', '.join(SMOKES)}")
    rows = []
    started = time.monotonic()
    for name in chosen:
        print(f"\n=== {name}: {' '.join(SMOKES[name])}", flush=True)
        began = time.monotonic()
        code = subprocess.run(command(name), cwd=ROOT, env=environment()).returncode  # noqa: S603
        rows.append((name, time.monotonic() - began, code))
    print(f"\n{'benchmark':<15}{'seconds':>8}  result")
    for name, seconds, code in rows:
        print(f"{name:<15}{seconds:>8.1f}  {'ok' if code == 0 else f'FAILED (exit {code})'}")
    print(
        f"total {time.monotonic() - started:.0f} s; load average {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} CPUs"
    )
    return 1 if any(code for _, _, code in rows) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
