"""Ready-by accuracy: the model against the median by device kind, on a time holdout of a fresh
simulated shop in a throwaway SQLite database (``make bench-ready-by``).

Prints the mean absolute error in working hours of both and the 80% interval's coverage (the
``ready_by_benchmark`` command does the work). ``--smoke``: a small shop, to prove it still runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: simulate_shop's arguments (the shop the model is measured on)
FULL = ["--customers", "600", "--months", "18", "--seed", "5"]
SMOKE = ["--customers", "300", "--months", "12", "--seed", "4"]
END = ["--end", "2026-06-15"]


def main(argv: list[str]) -> int:
    smoke = "--smoke" in argv
    extra = [arg for arg in argv if arg != "--smoke"]
    with tempfile.TemporaryDirectory() as tmp:
        database = {"DATABASE_URL": "", "SQLITE_PATH": f"{tmp}/ready_by.sqlite3", "DJANGO_VAR_DIR": tmp}
        env = {**os.environ, **database}
        manage = [sys.executable, "manage.py"]
        steps = [
            [*manage, "migrate", "--noinput", "-v", "0"],
            [*manage, "simulate_shop", *(SMOKE if smoke else FULL), "--namespace", "rbbench", *END],
            [*manage, "ready_by_benchmark", *END, *extra],
        ]
        for step in steps:
            code = subprocess.run(step, cwd=ROOT, env=env).returncode  # noqa: S603
            if code:
                print(f"bench-ready-by: {' '.join(step[1:3])} failed (exit {code})", file=sys.stderr)
                return code
    print("bench-ready-by: ran as documented")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
