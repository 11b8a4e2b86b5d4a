"""Core Web Vitals budget: Lighthouse (npm `lighthouse` 12, Debian's Chromium, loopback only) on
the booking, tracking and account pages.

The site runs as in production (DEBUG off, hashed + brotli/gzip static files with far-future
caching, served by uvicorn through WhiteNoise). The naive baseline is the same site with
DJANGO_DEBUG=1 static serving (unhashed, uncompressed, no long caching), measured in the same
run. Prints performance score, LCP, CLS, TBT, total transferred bytes and JavaScript bytes per
page, for Lighthouse's desktop and mobile presets, and the production/naive ratios.

    make bench-lighthouse        # installs Lighthouse into benchmarks/lighthouse/ on first use
    .venv/bin/python benchmarks/lighthouse_budget.py --smoke   # one page, desktop, production, one run

Exit status 1 when Lighthouse could not measure a page (no score, LCP or bytes).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import Checks, collect_static, static_root  # noqa: E402

LIGHTHOUSE = ROOT / "benchmarks" / "lighthouse" / "node_modules" / ".bin" / "lighthouse"
CHROME_FLAGS = (
    "--headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update"
)
GOALS = {"score": 98, "lcp_ms": 1200, "cls": 0.02, "tracking_js_kb": 15}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def manage(env: dict, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def prepare(workdir: Path) -> tuple[dict, str, str]:
    """A fresh SQLite site with demo data; returns (env, tracking path, customer session key)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    env.update(
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_DEBUG="0",
        DJANGO_VAR_DIR=str(workdir / "var"),
        SQLITE_PATH=str(workdir / "db.sqlite3"),
        STATIC_ROOT=static_root(),  # this checkout's collected files, compressed once
        LOG_LEVEL="WARNING",
    )
    manage(env, "migrate", "--noinput")
    collect_static(env)
    manage(env, "seed_demo", "--force", "--password", secrets.token_urlsafe(12))
    script = (
        "from importlib import import_module; from django.conf import settings; "
        "from django.contrib.auth import get_user_model, HASH_SESSION_KEY, SESSION_KEY, BACKEND_SESSION_KEY; "
        "from repairs.models import RepairTicket; "
        "t = RepairTicket.objects.filter(photos__isnull=False, status='in_repair').first(); "
        "u = get_user_model().objects.get(username='customer'); "
        "s = import_module(settings.SESSION_ENGINE).SessionStore(); "
        "s[SESSION_KEY] = str(u.pk); s[BACKEND_SESSION_KEY] = 'django.contrib.auth.backends.ModelBackend'; "
        "s[HASH_SESSION_KEY] = u.get_session_auth_hash(); s.save(); "
        "print(t.tracking_token, s.session_key)"
    )
    token, session_key = manage(env, "shell", "--no-imports", "-c", script).splitlines()[-1].split()
    return env, f"/track/{token}/", session_key


def start_server(env: dict, port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "uvicorn"),
            "revivatech.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--lifespan",
            "off",
            "--log-level",
            "warning",
            "--ws",
            "websockets-sansio",
        ],
        cwd=ROOT,
        env=env,
    )
    for _ in range(600):  # up to ~2 min: importing Django on a busy machine is slow
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("server did not start")


def lighthouse(url: str, preset: str, cookie: str | None) -> dict:
    args = [
        str(LIGHTHOUSE),
        url,
        "--output=json",
        "--output-path=stdout",
        "--quiet",
        "--only-categories=performance",
        f"--chrome-flags={CHROME_FLAGS}",
    ]
    if preset == "desktop":
        args.append("--preset=desktop")
    if cookie:
        args.append("--extra-headers=" + json.dumps({"Cookie": cookie}))
    env = {**os.environ, "CHROME_PATH": "/usr/bin/chromium"}
    for attempt in (1, 2):  # Chromium now and then fails to start; one retry, then say why
        run = subprocess.run(args, env=env, capture_output=True, text=True, timeout=180)
        if run.returncode == 0:
            break
        if attempt == 2:
            raise RuntimeError(f"lighthouse failed on {url}: {run.stderr.strip()[-2000:]}")
    report = json.loads(run.stdout)
    audits = report["audits"]
    scripts = [
        item
        for item in audits["network-requests"]["details"]["items"]
        if item.get("resourceType") == "Script"
    ]
    return {
        "score": round(report["categories"]["performance"]["score"] * 100),
        "lcp_ms": audits["largest-contentful-paint"]["numericValue"],
        "cls": audits["cumulative-layout-shift"]["numericValue"],
        "tbt_ms": audits["total-blocking-time"]["numericValue"],
        "bytes": audits["total-byte-weight"]["numericValue"],
        "js_bytes": sum(item.get("transferSize", 0) for item in scripts),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--smoke", action="store_true", help="the pipeline only: booking page, desktop, production"
    )
    args = parser.parse_args()
    checks = Checks("bench-lighthouse" + (" --smoke" if args.smoke else ""))
    if not LIGHTHOUSE.exists():
        sys.exit(
            "Lighthouse is not installed: run `make bench-lighthouse` (npm install in benchmarks/lighthouse)."
        )
    workdir = Path(tempfile.mkdtemp(prefix="revivatech-lighthouse-"))
    try:
        env, tracking_path, session_key = prepare(workdir)
        pages = [
            ("booking", "/book/", None),
            ("tracking", tracking_path, None),
            ("account", "/account/repairs/", f"sessionid={session_key}"),
        ]
        setups = [("production", env), ("naive", {**env, "DJANGO_DEBUG": "1"})]
        presets = ("desktop", "mobile")
        if args.smoke:
            pages, setups, presets = pages[:1], setups[:1], ("desktop",)
        results: dict[tuple[str, str, str], dict] = {}
        for setup, setup_env in setups:
            port = free_port()
            server = start_server(setup_env, port)
            try:
                for preset in presets:
                    for name, path, cookie in pages:
                        results[(setup, preset, name)] = lighthouse(
                            f"http://127.0.0.1:{port}{path}", preset, cookie
                        )
            finally:
                server.terminate()
                server.wait(timeout=20)
        report(results)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for key, r in results.items():
        where = " ".join(key)
        checks.require(r["lcp_ms"] > 0 and r["bytes"] > 0, f"{where}: Lighthouse measured nothing ({r})")
    return checks.exit_status()


def report(results: dict) -> None:
    header = (
        f"{'setup':<11}{'preset':<8}{'page':<10}{'score':>6}{'LCP ms':>9}{'CLS':>7}{'TBT ms':>8}{'KB':>8}"
        f"{'JS KB':>7}"
    )
    print(header)
    print("-" * len(header))
    for (setup, preset, page), r in results.items():
        print(
            f"{setup:<11}{preset:<8}{page:<10}{r['score']:>6}{r['lcp_ms']:>9.0f}{r['cls']:>7.3f}{r['tbt_ms']:>8.0f}"
            f"{r['bytes'] / 1024:>8.1f}{r['js_bytes'] / 1024:>7.1f}"
        )
    print("\nproduction vs naive (same preset and page): transferred bytes and LCP")
    for (setup, preset, page), r in results.items():
        if setup != "production" or ("naive", preset, page) not in results:
            continue
        naive = results[("naive", preset, page)]
        print(
            f"  {preset:<8}{page:<10} bytes {r['bytes'] / naive['bytes']:.2f}x   "
            f"LCP {r['lcp_ms'] / naive['lcp_ms']:.2f}x   score {r['score']} vs {naive['score']}"
        )
    print("\nGoals (desktop preset, production): score >= 98, LCP < 1.2 s, CLS < 0.02, tracking JS <= 15 KB")
    for page in ("booking", "tracking", "account"):
        r = results.get(("production", "desktop", page))
        if r is None:
            continue
        ok = r["score"] >= GOALS["score"] and r["lcp_ms"] < GOALS["lcp_ms"] and r["cls"] < GOALS["cls"]
        if page == "tracking":
            ok = ok and r["js_bytes"] / 1024 <= GOALS["tracking_js_kb"]
        print(f"  {page:<10}{'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    sys.exit(main())
