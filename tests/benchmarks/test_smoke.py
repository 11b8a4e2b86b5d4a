"""Benchmarks do not rot: each ``make bench-*`` target's ``--smoke`` mode (the benchmark's own code
path on tiny sizes, seconds each) runs as a subprocess, as ``make bench-smoke`` runs it, and must
exit 0. A smoke mode exits 1 when its benchmark no longer runs as documented: requests refused (by a
limit added later), figures missing, nothing stored, messages lost or duplicated.

They start their own servers, workers and redis-server on free loopback ports and use PostgreSQL on
127.0.0.1 (databases named after ``DATABASE_URL``'s, so never another checkout's); the Lighthouse one
installs Lighthouse with npm on first use (``make bench-lighthouse`` does the same). Slow next to the
unit tests (~20-90 s each on two cores): ``-m "not bench"`` leaves them out of a quick local run.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from benchmarks import smoke

ROOT = Path(__file__).resolve().parents[2]
LIGHTHOUSE_DIR = ROOT / "benchmarks" / "lighthouse"

pytestmark = pytest.mark.bench


@pytest.fixture
def lighthouse_installed():
    if not (LIGHTHOUSE_DIR / "node_modules" / ".bin" / "lighthouse").exists():
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--no-package-lock"],
            cwd=LIGHTHOUSE_DIR,
            check=True,
            timeout=600,
        )


@pytest.mark.parametrize("name", list(smoke.SMOKES))
def test_benchmark_runs_as_documented(name, request):
    if name == "lighthouse":
        request.getfixturevalue("lighthouse_installed")
    run = subprocess.run(
        smoke.command(name),
        cwd=ROOT,
        env=smoke.environment(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, f"{' '.join(smoke.SMOKES[name])} exited {run.returncode}:\n{output[-5000:]}"
    assert "ran as documented" in output or name in {"faults", "fuzz"}, output[-3000:]


def test_every_make_bench_target_has_a_smoke_mode():
    makefile = (ROOT / "Makefile").read_text()
    targets = {line.split(":")[0] for line in makefile.splitlines() if line.startswith(("bench-", "faults:"))}
    targets.discard("bench-smoke")
    scripts = {" ".join(command) for command in smoke.SMOKES.values()}
    for target in targets:
        recipe = makefile.split(f"\n{target}:", 1)[1].split("\n\n", 1)[0]
        invoked = recipe.strip().splitlines()[-1].split("$(PY) ", 1)[1].split(" $(")[0]
        assert any(script.startswith(invoked) for script in scripts), f"make {target} has no smoke mode"
