"""Event ingestion throughput: ``POST /api/v1/events/`` with batches of 50 events, from several
client processes on loopback, against the app on PostgreSQL (and Redis), compared in the same run
with a naive view that inserts one event per request with the ORM. Bounded in count and time.

Phases (each against a fresh uvicorn with ``--workers``):

* ``buffered``: the real endpoint through its lean ASGI route (``analytics.asgi``), Redis-buffered,
  with ``manage.py analytics_flush --follow`` storing (sessions, COPY, rollups) concurrently;
  "sustained" counts until every accepted event is in PostgreSQL;
* ``buffered-django``: the same, through Django's middleware stack and the DRF view;
* ``direct``: the lean route storing in the request (PostgreSQL without Redis);
* ``naive``: one event per request, ``Event.objects.create`` (validation and enrichment included,
  no sessions or rollups).

Prints events/s and request latency (p50/p99) per phase, the ratios to the naive baseline, and the
tracker's gzipped size.

    .venv/bin/python benchmarks/analytics_ingest.py                 # 10 s per phase
    .venv/bin/python benchmarks/analytics_ingest.py --seconds 5 --clients 3
    .venv/bin/python benchmarks/analytics_ingest.py --smoke    # 1 s a phase, 1 client, 1 worker

Its own PostgreSQL database (``<DATABASE_URL's name>_bench_analytics``, or ``BENCH_DATABASE_URL``)
and a private ``redis-server`` on a free loopback port (or ``BENCH_REDIS_URL``, which it flushes).
Exit status 1 when a phase accepted nothing or an accepted event was not stored.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import multiprocessing
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import Checks, own_database_url, static_root, stop  # noqa: E402

BENCH_DB = os.environ.get("BENCH_DATABASE_URL") or own_database_url("bench_analytics")
# Empty: a private redis-server (main). Set in the environment so uvicorn's workers read it too.
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "")
SECRET_KEY = secrets.token_urlsafe(50)
STATIC_ROOT = static_root()
PYTHON = sys.executable  # the interpreter running this (make's $(VENV), CI's .venv-ci)
BATCH = 50
NAIVE_PATH = "/bench/naive-event/"
DJANGO_PATH = "/bench/events-through-django/"
BROWSERS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{v}.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_{v} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.0 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0",
]
PAGES = ["/", "/book/", "/track/{token}/", "/account/repairs/", "/faq/"]


# --- the app under test (imported by uvicorn workers as benchmarks.analytics_ingest:application) -------


def naive_event(request):
    """The naive baseline: one event per request, validated and enriched like the real endpoint,
    then one ORM INSERT (no sessions, no rollups, no batching)."""
    from django.http import JsonResponse
    from django.utils import timezone

    from analytics.models import Event
    from analytics.services.identity import identity_from_request
    from analytics.services.request_info import country_for, parse_user_agent
    from analytics.services.validation import validate_event
    from revivatech.request_info import client_ip

    now = timezone.now()
    now_ms = int(now.timestamp() * 1000)
    event, errors = validate_event(json.loads(request.body), now_ms, 0)
    if event is None:
        return JsonResponse({"errors": errors}, status=400)
    identity = identity_from_request(request, now)
    agent = parse_user_agent(request.META.get("HTTP_USER_AGENT", ""))
    Event.objects.create(
        occurred_at=now,
        type=event.type,
        visitor_key=identity.visitor_key,
        path=event.path,
        device_type=agent.device_type,
        browser=agent.browser,
        os=agent.os,
        country=country_for(client_ip(request.META), request.META),
        props=event.props,
    )
    return JsonResponse({"accepted": 1}, status=202)


def _build_application():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "revivatech.settings")
    import django
    from django.conf import settings
    from django.urls import include, path
    from django.views.decorators.csrf import csrf_exempt

    django.setup()
    from analytics.api import EventIngestView
    from analytics.asgi import with_event_ingestion

    globals()["urlpatterns"] = [
        path(NAIVE_PATH.lstrip("/"), csrf_exempt(naive_event)),
        path(DJANGO_PATH.lstrip("/"), EventIngestView.as_view()),  # the same view as /api/v1/events/
        path("", include("revivatech.urls")),
    ]
    settings.ROOT_URLCONF = __name__
    from django.core.asgi import get_asgi_application

    # As revivatech/asgi.py should wire it: the lean route for POST /api/v1/events/, Django for the rest.
    return with_event_ingestion(get_asgi_application())


def __getattr__(name):  # uvicorn imports ``application`` lazily, in each worker
    if name == "application":
        app = _build_application()
        globals()["application"] = app
        return app
    raise AttributeError(name)


# --- orchestration ----------------------------------------------------------------------------------------


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def app_env(buffered: bool) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "ANALYTICS_", "REDIS_URL", "DATABASE"))
    }
    env.update(
        DATABASE_URL=BENCH_DB,
        DATABASE_CONN_MAX_AGE="0",  # Django under ASGI: a connection per request thread
        DJANGO_SECRET_KEY=SECRET_KEY,
        DJANGO_DEBUG="0",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
        STATIC_ROOT=STATIC_ROOT,
        # Limits stay in the hot path (cache counters) but never bite; clients come "through a
        # proxy" so each has its own address.
        ANALYTICS_RATE_LIMIT_IP_PER_MINUTE="100000000",
        ANALYTICS_RATE_LIMIT_VISITOR_PER_MINUTE="100000000",
        ANALYTICS_TRUSTED_PROXIES="127.0.0.1",
        ANALYTICS_BUFFER="redis" if buffered else "direct",
    )
    if buffered:
        env["REDIS_URL"] = REDIS_URL
    return env


def reset_state() -> None:
    """Empty the bench database's analytics tables and the bench Redis DB."""
    import psycopg
    import redis

    with psycopg.connect(BENCH_DB, autocommit=True) as conn:
        conn.execute(
            "TRUNCATE analytics_event, analytics_session, analytics_eventrollup, analytics_sessionrollup, "
            "analytics_ingestcursor, analytics_trackeddevice, analytics_visitorlink"
        )
    redis.Redis.from_url(REDIS_URL).flushdb()


def count_events() -> int:
    import psycopg

    with psycopg.connect(BENCH_DB) as conn:
        return conn.execute("SELECT count(*) FROM analytics_event").fetchone()[0]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(port: int, workers: int, buffered: bool) -> subprocess.Popen:
    server = subprocess.Popen(
        [str(Path(PYTHON).parent / "uvicorn"), "benchmarks.analytics_ingest:application",
         "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--lifespan", "off",
         "--no-access-log", "--log-level", "warning"],
        cwd=ROOT,
        env=app_env(buffered),
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120  # a busy machine: importing Django alone can take 30 s
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return server
        except OSError:
            time.sleep(0.2)
    stop(server)
    raise RuntimeError("uvicorn did not start")


# --- load ---------------------------------------------------------------------------------------------------


def make_event(rng: random.Random, now_ms: int) -> dict:
    page = rng.choice(PAGES)
    kind = rng.random()
    base = {"t": now_ms - rng.randint(0, 20_000), "path": page}
    if kind < 0.25:
        return {**base, "type": "pageview", "nav": "load"}
    if kind < 0.5:
        return {
            **base,
            "type": "click",
            "sel": "main>a.button",
            "x": rng.randint(0, 1200),
            "y": rng.randint(0, 3000),
        }
    if kind < 0.7:
        return {**base, "type": "scroll", "depth": rng.choice([25, 50, 75, 100])}
    if kind < 0.8:
        return {**base, "type": "web_vital", "name": "LCP", "value": rng.randint(300, 5000)}
    if kind < 0.9:
        return {
            **base,
            "type": "field_focus",
            "form": "/book/",
            "field": rng.choice(["name", "email", "phone"]),
        }
    return {**base, "type": "page_leave", "engaged_ms": rng.randint(0, 60_000)}


def client_worker(args: tuple) -> dict:
    """One client process: ``threads`` keep-alive connections posting until the deadline."""
    port, path, per_request, threads, deadline, max_requests, seed = args
    latencies: list[float] = []
    sent = [0, 0]  # requests, events accepted
    lock = threading.Lock()

    def run(thread_index: int) -> None:
        rng = random.Random(seed * 100 + thread_index)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        ip = f"10.{seed}.{thread_index}.{rng.randint(1, 250)}"
        agent = rng.choice(BROWSERS).format(v=rng.randint(100, 130))
        # Bodies are made up front, so the clients (on the same two cores) spend little CPU.
        now_ms = int(time.time() * 1000)
        if per_request == 1:
            bodies = [json.dumps(make_event(rng, now_ms)).encode() for _ in range(200)]
        else:
            batches = [[make_event(rng, now_ms) for _ in range(per_request)] for _ in range(40)]
            bodies = [json.dumps({"sent_at": now_ms, "events": batch}).encode() for batch in batches]
        number = 0
        while number == 0 or time.time() < deadline:  # one request at least, however slow the start
            with lock:
                if sent[0] >= max_requests:
                    return
            body = bodies[number % len(bodies)]
            number += 1
            headers = {"Content-Type": "text/plain", "User-Agent": agent, "X-Forwarded-For": ip}
            started = time.perf_counter()
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            elapsed = time.perf_counter() - started
            if response.status != 202:
                raise RuntimeError(f"{path}: HTTP {response.status} {payload[:200]!r}")
            accepted = json.loads(payload).get("accepted", 0)
            with lock:
                latencies.append(elapsed)
                sent[0] += 1
                sent[1] += accepted
            if rng.random() < 0.02:  # a new visitor now and then
                ip = f"10.{seed}.{thread_index}.{rng.randint(1, 250)}"

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return {"latencies": latencies, "requests": sent[0], "events": sent[1]}


def load(
    port: int, path: str, per_request: int, clients: int, threads: int, seconds: float, max_requests: int
) -> dict:
    # Warm-up: first requests pay for imports, the day's salt, connections.
    warmup = client_worker((port, path, per_request, 2, time.time() + 1.0, 50, 99))
    started = time.time()
    deadline = started + seconds
    jobs = [
        (port, path, per_request, threads, deadline, max_requests // clients, seed) for seed in range(clients)
    ]
    with multiprocessing.get_context("spawn").Pool(clients) as pool:
        results = pool.map(client_worker, jobs)
    elapsed = time.time() - started
    latencies = sorted(lat for r in results for lat in r["latencies"])
    events = sum(r["events"] for r in results)
    return {
        "requests": sum(r["requests"] for r in results),
        "events": events,
        "seconds": elapsed,
        "events_per_s": events / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "started": started,
        "warmup_events": warmup["events"],
    }


def run_phase(name: str, args, *, buffered: bool, path: str, per_request: int) -> dict:
    reset_state()
    port = free_port()
    server = start_server(port, args.workers, buffered)
    flusher = None
    try:
        if buffered:
            flusher = subprocess.Popen(
                [PYTHON, "manage.py", "analytics_flush", "--follow", "--idle", "0.05"],
                cwd=ROOT, env=app_env(True), start_new_session=True, stdout=subprocess.DEVNULL,
            )  # fmt: skip
        result = load(port, path, per_request, args.clients, args.threads, args.seconds, args.max_requests)
        if buffered:
            # Sustained: until every accepted event (warm-up included) is stored in PostgreSQL.
            deadline = time.time() + 120
            expected = result["events"] + result["warmup_events"]
            while count_events() < expected and time.time() < deadline:
                time.sleep(0.1)
            drained = time.time() - result["started"]
            result["stored_events_per_s"] = (count_events() - result["warmup_events"]) / drained
            result["drain_s"] = drained - result["seconds"]
        else:
            result["stored_events_per_s"] = result["events_per_s"]
        result["stored"] = count_events()
        return result
    finally:
        if flusher is not None:
            stop(flusher)
        stop(server)


def main() -> int:
    global REDIS_URL
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="load time per phase (bounded)")
    parser.add_argument("--clients", type=int, default=3, help="client processes")
    parser.add_argument("--threads", type=int, default=4, help="keep-alive connections per client process")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--max-requests", type=int, default=200_000, help="upper bound per phase")
    parser.add_argument("--phases", default="buffered,buffered-django,direct,naive")
    parser.add_argument("--smoke", action="store_true", help="seconds: every phase, 1 s, 1 client, 1 worker")
    args = parser.parse_args()
    if args.smoke:
        args.seconds, args.clients, args.threads, args.workers, args.max_requests = 1.0, 1, 2, 1, 400
    args.seconds = min(args.seconds, 60.0)
    checks = Checks("bench-analytics" + (" --smoke" if args.smoke else ""))

    private_redis = None
    if not REDIS_URL:
        from benchmarks.faults.harness import PrivateRedis

        private_redis = PrivateRedis().start()
        REDIS_URL = private_redis.url
    try:
        results, phases = run(args)
    finally:
        if private_redis is not None:
            private_redis.stop()

    print()
    print(
        "| phase | events per request | events/s accepted | events/s stored (sustained) "
        "| p50 ms | p99 ms | vs naive |"
    )
    print("|---|---|---|---|---|---|---|")
    naive = results.get("naive")
    for name, r in results.items():
        per = phases[name]["per_request"]
        ratio = f"{r['stored_events_per_s'] / naive['stored_events_per_s']:.1f}x" if naive else "n/a"
        print(f"| {name} | {per} | {r['events_per_s']:,.0f} | {r['stored_events_per_s']:,.0f} | "
              f"{r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {ratio} |")  # fmt: skip
    print(f"(load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    for name, r in results.items():
        checks.require(r["events"] > 0, f"{name}: no event was accepted")
        checks.require(
            r["stored"] >= r["events"] + r["warmup_events"],
            f"{name}: {r['events'] + r['warmup_events'] - r['stored']} accepted events were never stored",
        )
    return checks.exit_status()


def run(args) -> tuple[dict, dict]:
    ensure_database(BENCH_DB)
    Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # served by nobody here; silences WhiteNoise
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "--noinput", "-v", "0", "--skip-checks"],
        cwd=ROOT, env=app_env(True), check=True,
    )  # fmt: skip
    tracker = (ROOT / "static/analytics/tracker.js").read_bytes()
    print(f"tracker.js: {len(tracker)} bytes, {len(gzip.compress(tracker, 9))} bytes gzipped (budget 2560)")
    print(f"load: {args.clients} client processes x {args.threads} connections, {args.seconds:g} s a phase, "
          f"uvicorn --workers {args.workers}, {os.cpu_count()} CPUs, loopback")  # fmt: skip

    phases = {
        "buffered": {"buffered": True, "path": "/api/v1/events/", "per_request": BATCH},
        "buffered-django": {"buffered": True, "path": DJANGO_PATH, "per_request": BATCH},
        "direct": {"buffered": False, "path": "/api/v1/events/", "per_request": BATCH},
        "naive": {"buffered": False, "path": NAIVE_PATH, "per_request": 1},
    }
    results = {}
    for name in [p.strip() for p in args.phases.split(",") if p.strip()]:
        results[name] = run_phase(name, args, **phases[name])
        r = results[name]
        extra = (
            f", stored {r['stored_events_per_s']:,.0f} ev/s (drained {r['drain_s']:.1f} s after)"
            if "drain_s" in r
            else ""
        )
        print(f"{name:>15}: {r['events_per_s']:>9,.0f} events/s accepted{extra}; {r['requests']:,} requests, "
              f"p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms")  # fmt: skip
    return results, phases


if __name__ == "__main__":
    sys.exit(main())
