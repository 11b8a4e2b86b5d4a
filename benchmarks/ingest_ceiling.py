"""Event ingestion against its ceilings: how much of what this machine can parse does
``POST /api/v1/events/`` accept, and store? One invocation, four phases one after another, each
against a fresh uvicorn on 127.0.0.1 with the same options (``--workers 2``, proxy headers from
127.0.0.1 as behind the production proxy) and the same load: ``wrk``, 1 thread, 32 keep-alive
connections, POSTing 50-event batches of the mix ``analytics_ingest.py`` generates.

* ``a-raw-asgi``: a bare ASGI app that reads the body, parses the JSON and answers 202: the ceiling
  of uvicorn + json on this machine;
* ``b-django``: a bare async Django view that does the same (the project's settings, no middleware):
  Django's own ceiling, the one issue #18 measures against;
* ``b-django-stack``: the same view behind the project's whole middleware stack (production
  settings): what our middleware alone costs;
* ``c-events``: the real ``revivatech.asgi:application`` (as the Dockerfile serves it), production
  settings, PostgreSQL + the Redis buffer, with ``manage.py analytics_flush --follow`` storing
  concurrently. "Stored" counts rows in ``analytics_event`` once the flusher has drained: events
  per second over the whole wall time from the start of the load until the last one is stored.

Production throttles stay on (``ANALYTICS_RATE_LIMIT_*`` at their defaults, the DRF write limits
untouched). The benchmark's identity is explicit instead: the load comes "through the proxy"
(127.0.0.1, trusted by ``ANALYTICS_TRUSTED_PROXIES`` and uvicorn's ``--forwarded-allow-ips``, as in
docker-compose.yml) for many visitors, each from its own ``X-Forwarded-For`` address sending
``--batches-per-visitor`` batches, far under the per-visitor and per-address limits. A probe then
checks that those limits are really in place: one visitor sending more than its limit gets a 429
(the only intended non-2xx). The ingestion endpoint is anonymous, so ``RATE_LIMIT_EXEMPT_USERNAMES``
(signed-in accounts only) plays no part.

    .venv/bin/python benchmarks/ingest_ceiling.py              # 10 s per phase
    .venv/bin/python benchmarks/ingest_ceiling.py --seconds 5 --phases a-raw-asgi,c-events
    .venv/bin/python benchmarks/ingest_ceiling.py --smoke      # ~1.5 s a phase, 1 worker

Its own PostgreSQL database (``<DATABASE_URL's name>_bench_ceiling``, or ``BENCH_DATABASE_URL``)
and a private ``redis-server`` on a free loopback port. Needs ``wrk`` (Debian: ``apt-get install
wrk``). Exit status 1 when ``wrk`` is missing, a phase accepted nothing, any response was not 2xx
(other than the probe's intended 429), a socket error occurred, the real endpoint stored fewer (or
more) events than it accepted, or the throttle probe saw no 429.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import Checks, own_database_url, static_root, stop  # noqa: E402

BENCH_DB = os.environ.get("BENCH_DATABASE_URL") or own_database_url("bench_ceiling")
SECRET_KEY = secrets.token_urlsafe(50)
PYTHON = sys.executable
EVENTS_PATH = "/api/v1/events/"
SITE = "https://bench.example"
BATCH = 50
CONNECTIONS = 32
#: phase -> the ASGI application uvicorn serves
PHASES = {
    "a-raw-asgi": "benchmarks.ingest_ceiling:raw_application",
    "b-django": "benchmarks.ingest_ceiling:django_application",
    "b-django-stack": "benchmarks.ingest_ceiling:django_stack_application",
    # revivatech.asgi:application itself (the Dockerfile's), handed over as loaded (see __getattr__)
    "c-events": "benchmarks.ingest_ceiling:real_application",
}


# --- the ceilings (imported by uvicorn's workers) ---------------------------------------------------


async def _raw_application(scope, receive, send) -> None:
    """Read the body, parse the batch, answer 202 with the number of events: nothing else."""
    if scope["type"] != "http":
        return
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    batch = json.loads(b"".join(chunks))
    payload = json.dumps({"accepted": len(batch["events"])}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": 202, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def parse_only(request):
    """The same in a Django async view (CSRF-exempt, as the real endpoint is)."""
    from django.http import JsonResponse

    batch = json.loads(request.body)
    return JsonResponse({"accepted": len(batch["events"])}, status=202)


def _build_django_application(*, middleware: bool):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "revivatech.settings")
    import django
    from django.conf import settings
    from django.urls import path
    from django.views.decorators.csrf import csrf_exempt

    django.setup()
    globals()["urlpatterns"] = [path(EVENTS_PATH.lstrip("/"), csrf_exempt(parse_only))]
    settings.ROOT_URLCONF = __name__  # only this view; the settings are the project's
    if not middleware:
        settings.MIDDLEWARE = []  # read when the handler is built, just below
    from django.core.asgi import get_asgi_application

    return get_asgi_application()


def _loaded(app):
    """``app``, once this worker has noted that it loaded it (``wait_ready`` counts the notes: under
    uvicorn a worker accepts connections only after loading the app, and Django's logging setup
    silences uvicorn's own start-up lines)."""
    folder = os.environ.get("BENCH_READY_DIR")
    if folder:
        (Path(folder) / str(os.getpid())).touch()
    return app


def __getattr__(name):  # uvicorn imports the application lazily, in each worker
    if name == "raw_application":
        app = _raw_application
    elif name == "django_application":
        app = _build_django_application(middleware=False)
    elif name == "django_stack_application":
        app = _build_django_application(middleware=True)
    elif name == "real_application":
        from revivatech.asgi import application as app
    else:
        raise AttributeError(name)
    globals()[name] = _loaded(app)
    return app


# --- servers ------------------------------------------------------------------------------------------


def app_env(redis_url: str) -> dict[str, str]:
    """Production settings (as docker-compose.yml sets them), on loopback; the same for every phase."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "ANALYTICS_", "REDIS_URL", "DATABASE", "RATE_LIMIT"))
    }
    env.update(
        DJANGO_PRODUCTION="1",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=SECRET_KEY,
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        SITE_URL=SITE,
        DEFAULT_FROM_EMAIL="RevivaTech <bench@bench.example>",
        DATABASE_URL=BENCH_DB,
        DATABASE_CONN_MAX_AGE="0",
        DATABASE_POOL_MAX_SIZE="8",
        REDIS_URL=redis_url,
        ANALYTICS_BUFFER="redis",
        # The benchmark's identity: the proxy at 127.0.0.1 forwarding for many visitors. The
        # ANALYTICS_RATE_LIMIT_* limits keep their defaults (checked by the probe).
        ANALYTICS_TRUSTED_PROXIES="127.0.0.1",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
        STATIC_ROOT=static_root(),
    )
    return env


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(app: str, port: int, workers: int, env: dict[str, str], ready_dir: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [str(Path(PYTHON).parent / "uvicorn"), app, "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers), "--lifespan", "off", "--no-access-log", "--log-level", "warning",
         "--proxy-headers", "--forwarded-allow-ips", "127.0.0.1"],
        cwd=ROOT,
        env={**env, "BENCH_READY_DIR": str(ready_dir)},
        start_new_session=True,
    )  # fmt: skip


def post(port: int, body: bytes, ip: str, agent: str) -> tuple[int, dict, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", EVENTS_PATH, body=body, headers=request_headers(ip, agent))
        response = conn.getresponse()
        payload = response.read()
        try:
            decoded = json.loads(payload)
        except ValueError:
            decoded = {"raw": payload[:200].decode(errors="replace")}
        return response.status, dict(response.getheaders()), decoded
    finally:
        conn.close()


def wait_ready(
    server: subprocess.Popen, port: int, workers: int, ready_dir: Path, body: bytes, agent: str
) -> int:
    """Wait until every worker has loaded the app (a busy machine: importing Django can take 30 s),
    then POST one batch; answers the events it accepted. A worker accepts connections only once
    loaded: wrk's keep-alive connections, opened at its start, would otherwise all go to the first."""
    deadline = time.monotonic() + 120
    while len(list(ready_dir.iterdir())) < workers:
        if server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start {workers} workers within 120 s")
        time.sleep(0.1)
    while True:
        try:
            status, _, decoded = post(port, body, "192.0.2.1", agent)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    if status != 202:
        raise RuntimeError(f"readiness probe: HTTP {status} {decoded}")
    return int(decoded.get("accepted", 0))


# --- load ---------------------------------------------------------------------------------------------


def request_headers(ip: str, agent: str) -> dict[str, str]:
    """What a tracker's beacon carries (sendBeacon: text/plain, same-site Origin) through the proxy."""
    return {
        "Content-Type": "text/plain;charset=UTF-8",
        "User-Agent": agent,
        "Origin": SITE,
        "X-Forwarded-For": ip,
        "X-Forwarded-Proto": "https",
    }


def make_bodies(count: int, seed: int = 7) -> tuple[list[str], list[str]]:
    """Batches of the mix analytics_ingest.py sends, and browser user agents."""
    from benchmarks.analytics_ingest import BROWSERS, make_event

    rng = random.Random(seed)
    now_ms = int(time.time() * 1000)
    bodies = [
        json.dumps({"sent_at": now_ms, "events": [make_event(rng, now_ms) for _ in range(BATCH)]})
        for _ in range(count)
    ]
    agents = [template.format(v=version) for template in BROWSERS for version in (118, 124, 129)]
    return bodies, agents


LUA = r"""
-- Generated by benchmarks/ingest_ceiling.py: POST prepared batches; visitor n (its own
-- X-Forwarded-For address, a browser user agent) sends PER_VISITOR batches, then the next one.
local bodies = {BODIES}
local agents = {AGENTS}
local per_visitor = PER_VISITOR
local path = "PATH"
local threads = {}
local n = 0
local base = 0

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  base = tonumber(args[1] or "0")
  s2xx, s429, other, accepted, body_errors = 0, 0, 0, 0, 0
  first_other = ""
end

function request()
  local visitor = base + math.floor(n / per_visitor)
  local ip = "10." .. (math.floor(visitor / 65536) % 256) .. "." .. (math.floor(visitor / 256) % 256)
    .. "." .. (visitor % 256)
  local body = bodies[(n % #bodies) + 1]
  n = n + 1
  return wrk.format("POST", path, {
    ["Content-Type"] = "text/plain;charset=UTF-8",
    ["User-Agent"] = agents[(visitor % #agents) + 1],
    ["Origin"] = "SITE",
    ["X-Forwarded-For"] = ip,
    ["X-Forwarded-Proto"] = "https",
  }, body)
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    s2xx = s2xx + 1
    local count = string.match(body, '"accepted": *(%d+)')
    if count then accepted = accepted + tonumber(count) else body_errors = body_errors + 1 end
  elseif status == 429 then
    s429 = s429 + 1
  else
    other = other + 1
    if first_other == "" then first_other = status .. " " .. string.sub(body, 1, 200) end
  end
end

function done(summary, latency, requests)
  local t = {s2xx = 0, s429 = 0, other = 0, accepted = 0, body_errors = 0}
  local first = ""
  for _, thread in ipairs(threads) do
    for key, _ in pairs(t) do t[key] = t[key] + thread:get(key) end
    if first == "" then first = thread:get("first_other") end
  end
  first = string.gsub(first, '[%c"\\]', " ")
  local e = summary.errors
  io.write(string.format(
    'WRK-RESULT {"duration_us": %d, "requests": %d, "s2xx": %d, "s429": %d, "other": %d, '
    .. '"accepted": %d, "body_errors": %d, "connect": %d, "read": %d, "write": %d, "status": %d, '
    .. '"timeout": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, "first_other": "%s"}\n',
    summary.duration, summary.requests, t.s2xx, t.s429, t.other, t.accepted, t.body_errors,
    e.connect, e.read, e.write, e.status, e.timeout, latency:percentile(50), latency:percentile(99),
    latency.max, first))
end
"""


def lua_long_string(text: str) -> str:
    level = "=" * 3
    assert f"]{level}]" not in text
    return f"[{level}[{text}]{level}]"


def write_script(folder: Path, bodies: list[str], agents: list[str], per_visitor: int) -> Path:
    script = (
        LUA.replace("{BODIES}", "{" + ",\n".join(lua_long_string(body) for body in bodies) + "}")
        .replace("{AGENTS}", "{" + ", ".join(lua_long_string(agent) for agent in agents) + "}")
        .replace("PER_VISITOR", str(per_visitor))
        .replace('"PATH"', json.dumps(EVENTS_PATH))
        .replace('"SITE"', json.dumps(SITE))
    )
    path = folder / "ingest_ceiling.lua"
    path.write_text(script)
    return path


def run_wrk(script: Path, port: int, seconds: float, base: int) -> dict:
    """wrk, 1 thread, CONNECTIONS connections, for ``seconds``; visitors numbered from ``base``."""
    command = [
        "wrk", "-t1", f"-c{CONNECTIONS}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
        "-s", str(script), f"http://127.0.0.1:{port}{EVENTS_PATH}", "--", str(base),
    ]  # fmt: skip
    started = time.time()
    run = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)  # noqa: S603
    line = next((line for line in run.stdout.splitlines() if line.startswith("WRK-RESULT ")), None)
    if run.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed (exit {run.returncode}):\n{run.stdout}\n{run.stderr}")
    result = json.loads(line.removeprefix("WRK-RESULT "))
    result["started"] = started
    result["seconds"] = result["duration_us"] / 1e6
    result["events_per_s"] = result["accepted"] / result["seconds"]
    result["socket_errors"] = sum(result[key] for key in ("connect", "read", "write", "timeout"))
    return result


# --- PostgreSQL and Redis -----------------------------------------------------------------------------


def ensure_database() -> None:
    import psycopg

    name = BENCH_DB.rsplit("/", 1)[1]
    with psycopg.connect(BENCH_DB.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def reset_state(redis_url: str) -> None:
    import psycopg
    import redis

    with psycopg.connect(BENCH_DB, autocommit=True) as conn:
        conn.execute(
            "TRUNCATE analytics_event, analytics_session, analytics_eventrollup, analytics_sessionrollup, "
            "analytics_ingestcursor, analytics_trackeddevice, analytics_visitorlink"
        )
    redis.Redis.from_url(redis_url).flushdb()


STREAM_KEY = "revivatech:analytics:events"  # ANALYTICS_STREAM_KEY with the default CACHE_KEY_PREFIX


def buffer_state(redis_url: str) -> tuple[int, int, bool]:
    """(rows stored, batches the servers ever appended to the stream, whether the flusher's cursor
    is at the last of them). The stream is read first, then rows and cursor in one snapshot: the
    flusher commits a chunk's rows with its cursor, so a cursor at the last batch means every batch
    is in those rows."""
    import psycopg
    import redis

    try:
        info = redis.Redis.from_url(redis_url).xinfo_stream(STREAM_KEY)
    except redis.ResponseError:  # no stream yet
        info = {"entries-added": 0, "last-generated-id": None}
    last_id = info["last-generated-id"]
    last_id = last_id.decode() if isinstance(last_id, bytes) else last_id
    with psycopg.connect(BENCH_DB) as conn:
        rows, position = conn.execute(
            "SELECT (SELECT count(*) FROM analytics_event), "
            "(SELECT position FROM analytics_ingestcursor WHERE name = 'events')"
        ).fetchone()
    return rows, int(info["entries-added"]), last_id is None or position == last_id


def wait_settled(redis_url: str, quiet: float = 1.0, timeout: float = 120) -> dict:
    """Poll until the flusher has stored every buffered batch and nothing has changed (no new batch
    from a request still in flight when wrk stopped, no new row) for ``quiet`` seconds. Answers the
    rows, the batches buffered, and when the row count last changed."""
    deadline = time.time() + timeout
    last = None
    changed_at = stored_at = time.time()
    while True:
        rows, batches, drained = buffer_state(redis_url)
        now = time.time()
        if last is None or (rows, batches) != last:
            if last is None or rows != last[0]:
                stored_at = now
            changed_at, last = now, (rows, batches)
        if (drained and now - changed_at >= quiet) or now > deadline:
            return {"rows": rows, "batches": batches, "stored_at": stored_at, "settled": drained}
        time.sleep(0.05)


def cpu_seconds(pid: int) -> tuple[float, float] | None:
    """(CPU time a process on this machine has used, time it spent runnable but waiting for a CPU);
    Linux ``/proc``, ``None`` elsewhere."""
    try:
        with open(f"/proc/{pid}/schedstat") as f:
            on_cpu, waiting = f.read().split()[:2]
        return int(on_cpu) / 1e9, int(waiting) / 1e9
    except (OSError, ValueError):
        return None


# --- phases ---------------------------------------------------------------------------------------------


def throttle_probe(port: int, agent: str) -> dict:
    """One visitor posting 1-event batches until refused: the production limit must answer 429
    (with Retry-After) before ``limit`` + 1 requests, and nothing but 202 before it."""
    now_ms = int(time.time() * 1000)
    body = json.dumps(
        {"sent_at": now_ms, "events": [{"type": "pageview", "t": now_ms, "path": "/"}]}
    ).encode()
    statuses: dict[int, int] = {}
    for number in range(1, 1001):
        status, headers, _ = post(port, body, "192.0.2.99", agent)
        statuses[status] = statuses.get(status, 0) + 1
        if status == 429:
            return {"refused_at": number, "retry_after": headers.get("retry-after"), "statuses": statuses}
        if status != 202:
            break
    return {"refused_at": None, "retry_after": None, "statuses": statuses}


def run_phase(name: str, args, script: Path, probe_body: bytes, agent: str, redis_url: str) -> dict:
    ready_dir = script.parent / name
    ready_dir.mkdir()
    env = app_env(redis_url)
    real = name == "c-events"
    if real:
        reset_state(redis_url)
    port = free_port()
    load_before = os.getloadavg()[0]
    server = start_server(PHASES[name], port, args.workers, env, ready_dir)
    flusher = None
    try:
        if real:
            flusher = subprocess.Popen(
                [PYTHON, "manage.py", "analytics_flush", "--follow"],
                cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
            )  # fmt: skip
        wait_ready(server, port, args.workers, ready_dir, probe_body, agent)
        # Warm-up (every worker imports, connects, caches the day's salt), then the measured run.
        # Visitor numbers never repeat within a run, so no visitor nears the per-minute limits.
        warmup = run_wrk(script, port, args.warmup, base=0)
        result = {"warmup": warmup}
        if real:
            before = wait_settled(redis_url)
            flusher_cpu = cpu_seconds(flusher.pid)
        measured = run_wrk(script, port, args.seconds, base=1_000_000)
        result.update(measured)
        if real:
            # wrk counts the answers it read; requests in flight when it stopped (up to one per
            # connection) were still served, buffered and stored: stored >= accepted, and every row
            # stored must come from a batch the servers buffered (50 events each, none refused).
            after = wait_settled(redis_url)
            flusher_cpu_after = cpu_seconds(flusher.pid)
            if flusher_cpu is not None and flusher_cpu_after is not None:
                result["flusher_cpu_s"] = flusher_cpu_after[0] - flusher_cpu[0]
                result["flusher_waiting_s"] = flusher_cpu_after[1] - flusher_cpu[1]
            result["settled"] = before["settled"] and after["settled"]
            result["stored"] = after["rows"] - before["rows"]
            result["buffered_events"] = BATCH * (after["batches"] - before["batches"])
            result["drain_s"] = after["stored_at"] - (measured["started"] + measured["seconds"])
            result["stored_per_s"] = result["stored"] / (after["stored_at"] - measured["started"])
            result["probe"] = throttle_probe(port, agent)
        result["load_average"] = (load_before, os.getloadavg()[0])
        return result
    finally:
        if flusher is not None:
            stop(flusher)
        stop(server)


def share(ours: float, ceiling: dict | None) -> str:
    if not ceiling or not ceiling["events_per_s"]:
        return "n/a"
    return f"{100 * ours / ceiling['events_per_s']:.0f} %"


def report(results: dict, checks: Checks) -> None:
    a, b = results.get("a-raw-asgi"), results.get("b-django")
    stack = results.get("b-django-stack")
    print()
    print("| phase | events/s accepted | events/s stored (sustained) | p50 ms | p99 ms | requests "
          "| share of (a) | share of (b) | share of (b-stack) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        stored = f"{r['stored_per_s']:,.0f}" if "stored_per_s" in r else "-"
        ours = r.get("stored_per_s", r["events_per_s"])
        shares = (share(ours, a), share(ours, b), share(ours, stack)) if name == "c-events" else ("",) * 3
        print(f"| {name} | {r['events_per_s']:,.0f} | {stored} | {r['p50_us'] / 1000:.1f} | "
              f"{r['p99_us'] / 1000:.1f} | {r['requests']:,} | {' | '.join(shares)} |")  # fmt: skip
    c = results.get("c-events")
    if c:
        print(
            f"\nc-events accepted {c['events_per_s']:,.0f} events/s = {share(c['events_per_s'], a)} of (a), "
            f"{share(c['events_per_s'], b)} of (b); stored {c['stored_per_s']:,.0f} events/s "
            f"= {share(c['stored_per_s'], a)} of (a), {share(c['stored_per_s'], b)} of (b) "
            f"(last event stored {c['drain_s']:.1f} s after the load ended)"
        )
        print(
            f"c-events stored {c['stored']:,} events, {c['stored'] - c['accepted']:,} of them from requests "
            "in flight when wrk stopped (served, never counted as accepted)"
        )
        if "flusher_cpu_s" in c:
            print(
                f"flusher CPU {c['flusher_cpu_s']:.2f} s for those events = "
                f"{20_000 * c['flusher_cpu_s'] / max(1, c['stored']):.2f} s per 20,000 events; it waited "
                f"{c['flusher_waiting_s']:.2f} s for a CPU (runnable, other processes running)"
            )
        probe = c["probe"]
        print(
            f"throttle probe: one visitor refused (429, Retry-After {probe['retry_after']}) at request "
            f"{probe['refused_at']}; statuses {probe['statuses']}"
        )
    for name, r in results.items():
        print(f"{name}: load average {r['load_average'][0]:.1f} before, {r['load_average'][1]:.1f} after")

    for name, r in results.items():
        checks.require(r["accepted"] > 0, f"{name}: no event was accepted")
        for run, what in ((r["warmup"], "warm-up"), (r, "measured run")):
            checks.require(
                run["other"] == 0,
                f"{name} {what}: {run['other']} non-2xx answers, first: {run['first_other']}",
            )
            checks.require(run["s429"] == 0, f"{name} {what}: {run['s429']} answers were 429 (rate limited)")
            checks.require(run["socket_errors"] == 0, f"{name} {what}: socket errors {run}")
            checks.require(
                run["body_errors"] == 0, f"{name} {what}: {run['body_errors']} 2xx without 'accepted'"
            )
        if "stored" in r:
            checks.require(r["settled"], f"{name}: the flusher did not store the buffered batches in 120 s")
            checks.require(
                r["stored"] >= r["accepted"],
                f"{name}: {r['accepted'] - r['stored']} of {r['accepted']} accepted events were never stored",
            )
            checks.require(
                r["stored"] == r["buffered_events"],
                f"{name}: {r['stored']} events stored from {r['buffered_events']} buffered "
                "(more: duplicates; fewer: lost or refused)",
            )
            probe = r["probe"]
            checks.require(
                probe["refused_at"] is not None and set(probe["statuses"]) == {202, 429},
                f"{name}: the production rate limit did not refuse one visitor's flood: {probe}",
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured load per phase (at most 60)")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured load before each phase")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--batches-per-visitor", type=int, default=10, help="batches each visitor sends")
    parser.add_argument("--phases", default=",".join(PHASES))
    parser.add_argument(
        "--smoke", action="store_true", help="seconds: every phase, 1 s + 1 s warm-up, 1 worker"
    )
    args = parser.parse_args()
    if args.smoke:
        args.seconds, args.warmup, args.workers = 1.0, 1.0, 1
    args.seconds = min(args.seconds, 60.0)
    checks = Checks("bench-ingest-ceiling" + (" --smoke" if args.smoke else ""))
    names = [p.strip() for p in args.phases.split(",") if p.strip()]
    unknown = set(names) - set(PHASES)
    if unknown:
        sys.exit(f"unknown phase(s) {', '.join(sorted(unknown))}; known: {', '.join(PHASES)}")
    if shutil.which("wrk") is None:
        print(
            "bench-ingest-ceiling: `wrk` is not installed, so nothing was measured. Install it "
            "(Debian/Ubuntu: apt-get install wrk) and run again.",
            file=sys.stderr,
        )
        checks.require(False, "wrk is not installed (apt-get install wrk)")
        return checks.exit_status()

    from benchmarks.faults.harness import PrivateRedis

    bodies, agents = make_bodies(64)
    probe_body = bodies[0].encode()
    ensure_database()
    Path(static_root()).mkdir(parents=True, exist_ok=True)  # served by nobody here; silences WhiteNoise
    private_redis = PrivateRedis().start()
    results = {}
    try:
        subprocess.run(
            [PYTHON, "manage.py", "migrate", "--noinput", "-v", "0", "--skip-checks"],
            cwd=ROOT, env=app_env(private_redis.url), check=True,
        )  # fmt: skip
        print(
            f"load: wrk, 1 thread x {CONNECTIONS} connections, {BATCH}-event batches, {args.seconds:g} s a "
            f"phase after {args.warmup:g} s warm-up; uvicorn --workers {args.workers}; {os.cpu_count()} "
            f"CPUs shared with the load generator, loopback"
        )
        with tempfile.TemporaryDirectory(prefix="ingest-ceiling-") as folder:
            script = write_script(Path(folder), bodies, agents, args.batches_per_visitor)
            for name in names:
                r = run_phase(name, args, script, probe_body, agents[0], private_redis.url)
                results[name] = r
                print(f"{name:>11}: {r['events_per_s']:>9,.0f} events/s accepted, {r['requests']:,} req, "
                      f"p99 {r['p99_us'] / 1000:.1f} ms", flush=True)  # fmt: skip
    finally:
        private_redis.stop()
    report(results, checks)
    return checks.exit_status()


if __name__ == "__main__":
    sys.exit(main())
