"""``make fuzz``: schemathesis' CLI against a live uvicorn on 127.0.0.1, as four roles.

Heavier than the in-suite fuzz test (``tests/security/test_fuzz_api.py``): every phase of
schemathesis (examples, coverage, fuzzing, stateful), more examples per operation. It sets up a
throw-away SQLite database and media folder in a temporary directory, builds the access-control
world (two customers' repairs with photos, invoices, messages, analytics rows), serves the site
with uvicorn in production mode (``DJANGO_DEBUG=0``, collected static files), then runs

    schemathesis run http://127.0.0.1:PORT/api/schema/ -H "Authorization: Token …" --checks …

once per role (anonymous, customer, technician, staff) and prints a summary table: operations,
test cases generated, failures, server errors. Exit status 1 when any run found a failure.

    .venv/bin/python tests/security/run_fuzz.py [--max-examples 25] [--seed 20261127] [--roles staff,customer]
    .venv/bin/python tests/security/run_fuzz.py --smoke   # seconds: 1 example per operation, 2 roles

Exit status 1 also when a run tested no operation or generated no test case (a schema that no
longer loads, a server that does not answer).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks.common import collect_static, static_root  # noqa: E402

PY = sys.executable
SCHEMATHESIS = str(Path(PY).with_name("schemathesis"))
UVICORN = str(Path(PY).with_name("uvicorn"))
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
ROLES = {"anonymous": None, "customer": "customer_a", "technician": "tech_assigned", "staff": "staff"}

WORLD_SCRIPT = """
import json, django
django.setup()
from tests.security.acl_fixtures import build_world
world = build_world()
print(json.dumps({"tokens": world.tokens, "reference": world.a.ticket.reference,
                  "public_id": world.a.invoice.public_id, "device_id": world.a.push_device.pk}))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback only)
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"the server did not answer {url} within {seconds} s")


def summary_of(output: str) -> dict[str, int | str]:
    """The figures schemathesis prints at the end of a run."""
    generated = re.search(r"(\d+) generated", output)
    found = re.search(r"(\d+) found (\d+) unique failures", output)
    tested = re.search(r"Tested: (\d+)", output)
    server_errors = len(re.findall(r"Server error", output))
    return {
        "operations": int(tested.group(1)) if tested else 0,
        "generated": int(generated.group(1)) if generated else 0,
        "failures": int(found.group(2)) if found else 0,
        "server_errors": server_errors,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=25)
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--roles", default=",".join(ROLES))
    parser.add_argument("--phases", default="examples,coverage,fuzzing,stateful")
    parser.add_argument("--smoke", action="store_true", help="1 example per operation, anonymous + staff")
    args = parser.parse_args()
    if args.smoke:
        args.max_examples, args.phases, args.roles = 1, "examples,fuzzing", "anonymous,staff"

    with tempfile.TemporaryDirectory(prefix="revivatech-fuzz-") as tmp:
        work = Path(tmp)
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "revivatech.settings",
            "DJANGO_DEBUG": "0",
            "SQLITE_PATH": str(work / "fuzz.sqlite3"),
            "DJANGO_VAR_DIR": str(work / "var"),
            "MEDIA_ROOT": str(work / "media"),
            "STATIC_ROOT": static_root(),  # this checkout's collected files, compressed once
            "LOG_LEVEL": "WARNING",
        }
        env.pop("DATABASE_URL", None)  # always a throw-away database
        env.pop("REDIS_URL", None)  # and in-process caches: never the caller's Redis (a test suite's)
        manage = [PY, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, check=True, cwd=ROOT)
        collect_static(env)
        world = json.loads(
            subprocess.run(
                [PY, "-c", WORLD_SCRIPT], env=env, check=True, cwd=ROOT, capture_output=True, text=True
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        (work / "schemathesis.toml").write_text(
            "[parameters]\n"
            f'"path.reference" = "{world["reference"]}"\n'
            f'"path.public_id" = "{world["public_id"]}"\n'
            f'"path.device_id" = {world["device_id"]}\n'
        )
        port = free_port()
        server = subprocess.Popen(  # noqa: S603
            [
                UVICORN,
                "revivatech.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--lifespan",
                "off",
            ],
            env=env,
            cwd=ROOT,
            stdout=(work / "uvicorn.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        rows, failed = [], False
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(f"{base}/healthz")
            for role in args.roles.split(","):
                token = world["tokens"].get(ROLES[role]) if ROLES[role] else None
                command = [
                    SCHEMATHESIS,
                    "--config-file",
                    str(work / "schemathesis.toml"),
                    "run",
                    f"{base}/api/schema/",
                    "--checks",
                    CHECKS,
                    "--max-examples",
                    str(args.max_examples),
                    "--seed",
                    str(args.seed),
                    "--phases",
                    args.phases,
                    "--workers",
                    "1",
                    "--no-color",
                ]
                if token:
                    command += ["-H", f"Authorization: Token {token}"]
                started = time.monotonic()
                run = subprocess.run(command, cwd=work, capture_output=True, text=True)  # noqa: S603
                output = run.stdout + run.stderr
                (work / f"schemathesis-{role}.txt").write_text(output)
                figures = summary_of(output)
                failed |= run.returncode != 0 or not figures["operations"] or not figures["generated"]
                rows.append((role, figures, time.monotonic() - started, run.returncode))
                if run.returncode != 0:
                    print(output[-6000:])
        finally:
            server.terminate()
            server.wait(timeout=10)
        print(
            f"\n{'role':12} {'operations':>10} {'cases':>7} {'failures':>9} {'5xx':>5} {'seconds':>8}  exit"
        )
        for role, figures, seconds, code in rows:
            print(
                f"{role:12} {figures['operations']:>10} {figures['generated']:>7} {figures['failures']:>9} "
                f"{figures['server_errors']:>5} {seconds:>8.1f}  {code}"
            )
        total = sum(f["generated"] for _, f, _, _ in rows)
        print(
            f"total test cases: {total}; seed {args.seed}; "
            f"max examples {args.max_examples}; phases {args.phases}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
