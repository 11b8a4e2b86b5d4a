"""Mixed load for 60 s on loopback against a live uvicorn on PostgreSQL + Redis: tracking pages,
WebSocket connections (connect, snapshot, hold; plus a stream of new ones), analytics event
batches and authenticated API reads, each from a fixed number of closed-loop async clients
(aiohttp). Prints throughput (overall and per endpoint), p50/p99 per endpoint and errors
(goal: 0), and the same mix against a naive baseline measured in the same run: one uvicorn
process opening a new PostgreSQL connection per request (``DATABASE_CONN_MAX_AGE=0``, the default);
the site under test: 2 uvicorn processes, each with a psycopg pool of 8 connections
(``DATABASE_POOL_MAX_SIZE=8``; persistent connections, ``CONN_MAX_AGE`` > 0, leak under ASGI).

    make bench-load
    .venv/bin/python benchmarks/load_mixed.py --duration 20 --baseline-duration 10
    .venv/bin/python benchmarks/load_mixed.py --smoke      # 3 s + 2 s baseline, 10 held sockets

Abuse limits: this is ~40 loopback clients on one IP doing thousands of requests a minute, so the
per-IP limits of event ingestion and API writes are raised for the run (environment below); the
API reads are spread over 8 staff tokens, as separate people would be. Nothing here measures the
limits themselves (tests/security does).

Its own PostgreSQL database (``<DATABASE_URL's name>_load``, or ``LOAD_DATABASE``) and a private
``redis-server`` on a free loopback port. Exit status 1 on any error or an endpoint never served.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import Checks, own_database  # noqa: E402
from benchmarks.faults import harness  # noqa: E402
from benchmarks.faults.data import staff_token, tickets_in_repair  # noqa: E402

LOAD_DB = os.environ.get("LOAD_DATABASE") or own_database("load")
LOAD_REDIS_PORT = int(os.environ.get("LOAD_REDIS_PORT") or 0) or None  # None: a free port
#: closed-loop clients per kind of request
MIX = {"track": 8, "api": 8, "events": 4, "ws_connect": 2}
HELD_SOCKETS = 100


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)

    def ok(self, endpoint: str, seconds: float) -> None:
        self.latencies.setdefault(endpoint, []).append(seconds)

    def error(self, endpoint: str, what: str) -> None:
        self.errors[endpoint] = self.errors.get(endpoint, 0) + 1
        self.latencies.setdefault(endpoint, [])
        if len(self.error_samples) < 5:
            self.error_samples.append(f"{endpoint}: {what}")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000 if ordered else float("nan")


async def run_load(base: str, port: int, tickets, tokens: list[str], duration: float) -> tuple[Stats, float]:
    import aiohttp
    from websockets.asyncio.client import connect

    stats = Stats()
    stop_at = time.monotonic() + duration
    rng = random.Random(1)

    async def timed(endpoint: str, session, method: str, url: str, expect: int, **kwargs) -> None:
        started = time.perf_counter()
        try:
            async with session.request(method, url, **kwargs) as response:
                await response.read()
                if response.status != expect:
                    stats.error(endpoint, f"HTTP {response.status}")
                    return
        except Exception as error:  # a refused or reset connection is an error too
            stats.error(endpoint, repr(error)[:120])
            return
        stats.ok(endpoint, time.perf_counter() - started)

    async def tracker(session) -> None:
        while time.monotonic() < stop_at:
            ticket = rng.choice(tickets)
            await timed("GET /track/<token>/", session, "GET", f"{base}/track/{ticket.tracking_token}/", 200)

    async def api_reader(session, token: str) -> None:
        headers = {"Authorization": f"Token {token}"}
        n = 0
        while time.monotonic() < stop_at:
            n += 1
            ticket = rng.choice(tickets)
            if n % 3 == 0:
                await timed(
                    "GET /api/v1/repairs/", session, "GET", f"{base}/api/v1/repairs/", 200, headers=headers
                )
            elif n % 3 == 1:
                url = f"{base}/api/v1/repairs/{ticket.reference}/"
                await timed("GET /api/v1/repairs/<ref>/", session, "GET", url, 200, headers=headers)
            else:
                url = f"{base}/api/v1/repairs/{ticket.reference}/events/"
                await timed("GET /api/v1/repairs/<ref>/events/", session, "GET", url, 200, headers=headers)

    async def event_poster(session, index: int) -> None:
        pages = ["/", "/book/", "/track/x/", "/offline/"]
        while time.monotonic() < stop_at:
            now_ms = int(time.time() * 1000)
            batch = [
                {"type": "pageview", "t": now_ms - k * 10, "path": rng.choice(pages), "nav": "load"}
                for k in range(20)
            ]
            body = json.dumps({"sent_at": now_ms, "events": batch})
            await timed(
                "POST /api/v1/events/ (20)",
                session,
                "POST",
                f"{base}/api/v1/events/",
                202,
                data=body,
                headers={"Content-Type": "text/plain"},
            )

    async def open_socket(ticket):
        url = f"ws://127.0.0.1:{port}/ws/repairs/{ticket.reference}/?since={ticket.last_seq}&token={ticket.tracking_token}"
        ws = await connect(url, origin=f"http://127.0.0.1:{port}", open_timeout=20)
        while json.loads(await ws.recv())["type"] != "snapshot":
            pass
        return ws

    async def ws_churn() -> None:
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                ws = await open_socket(rng.choice(tickets))
                await ws.close()
            except Exception as error:
                stats.error("WS connect+snapshot", repr(error)[:120])
                continue
            stats.ok("WS connect+snapshot", time.perf_counter() - started)

    held = []
    held_errors = 0
    for chunk in range(0, HELD_SOCKETS, 25):
        results = await asyncio.gather(
            *(open_socket(tickets[i % len(tickets)]) for i in range(chunk, min(HELD_SOCKETS, chunk + 25))),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, Exception):
                held_errors += 1
            else:
                held.append(result)
    if held_errors:
        stats.errors["WS held"] = held_errors

    connector = aiohttp.TCPConnector(limit=0)
    started = time.monotonic()
    stop_at = started + duration
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(
            *(tracker(session) for _ in range(MIX["track"])),
            *(api_reader(session, tokens[i % len(tokens)]) for i in range(MIX["api"])),
            *(event_poster(session, i) for i in range(MIX["events"])),
            *(ws_churn() for _ in range(MIX["ws_connect"])),
        )
    elapsed = time.monotonic() - started
    still_open = 0
    for ws in held:
        try:
            await ws.ping()
            still_open += 1
        except Exception:
            pass
        await ws.close()
    if still_open < HELD_SOCKETS:
        stats.errors["WS held"] = HELD_SOCKETS - still_open
    stats.latencies.setdefault("WS held", [])
    return stats, elapsed


def report(title: str, stats: Stats, elapsed: float, baseline: tuple[Stats, float] | None = None) -> None:
    total = sum(len(v) for v in stats.latencies.values())
    errors = sum(stats.errors.values())
    print(f"\n{title}: {total} requests in {elapsed:.1f} s = {total / elapsed:.0f} req/s, errors {errors}")
    print(f"(machine load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    header = f"{'endpoint':<36}{'count':>7}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'errors':>7}"
    if baseline:
        header += f"{'req/s vs naive':>16}{'p99 vs naive':>14}"
    print(header)
    print("-" * len(header))
    for endpoint in sorted(stats.latencies):
        values = stats.latencies[endpoint]
        rate = len(values) / elapsed
        if endpoint == "WS held":
            line = f"{endpoint + f' ({HELD_SOCKETS})':<36}{'-':>7}{'-':>8}{'-':>9}{'-':>9}"
            line += f"{stats.errors.get(endpoint, 0):>7}"
            print(line)
            continue
        line = (
            f"{endpoint:<36}{len(values):>7}{rate:>8.1f}{percentile(values, 0.5):>9.1f}"
            f"{percentile(values, 0.99):>9.1f}{stats.errors.get(endpoint, 0):>7}"
        )
        if baseline:
            base_stats, base_elapsed = baseline
            base_values = base_stats.latencies.get(endpoint, [])
            base_rate = len(base_values) / base_elapsed
            ratio = rate / base_rate if base_rate else float("nan")
            p99_ratio = (
                percentile(values, 0.99) / percentile(base_values, 0.99) if base_values else float("nan")
            )
            line += f"{ratio:>15.2f}x{p99_ratio:>13.2f}x"
        print(line)
    if baseline:
        base_stats, base_elapsed = baseline
        base_total = sum(len(v) for v in base_stats.latencies.values())
        print(f"overall throughput vs naive baseline: {(total / elapsed) / (base_total / base_elapsed):.2f}x")
    for sample in stats.error_samples:
        print(f"  error: {sample}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--baseline-duration", type=float, default=30.0, help="0 skips the baseline")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--pool", type=int, default=8, help="PostgreSQL pool size per process")
    parser.add_argument("--smoke", action="store_true", help="seconds: 3 s + 2 s baseline, 10 held sockets")
    args = parser.parse_args()
    global HELD_SOCKETS
    if args.smoke:
        args.duration, args.baseline_duration, HELD_SOCKETS = 3.0, 2.0, 10

    harness.ensure_database(LOAD_DB)
    redis_server = harness.PrivateRedis(LOAD_REDIS_PORT).start()
    try:
        env = harness.site_env(
            harness.database_url(name=LOAD_DB),
            redis_server.url,
            ANALYTICS_RATE_LIMIT_IP_PER_MINUTE="10000000",
            ANALYTICS_RATE_LIMIT_VISITOR_PER_MINUTE="10000000",
        )
        harness.setup_django(env)
        tokens = [staff_token(f"load-staff-{i}") for i in range(8)]
        tickets = tickets_in_repair(50, label="[load] in repair")
        print(
            f"mix: {MIX['track']} tracking-page clients, {MIX['api']} API readers (8 staff tokens), "
            f"{MIX['events']} event-batch posters (20 events each), {MIX['ws_connect']} socket openers, "
            f"{HELD_SOCKETS} sockets held; {len(tickets)} tickets; closed loop, loopback"
        )
        runs = {}
        plans = [("tuned", args.workers, str(args.pool), args.duration)]
        if args.baseline_duration > 0:
            plans.insert(0, ("naive", 1, "0", args.baseline_duration))
        for name, workers, pool, duration in plans:
            site_env = {**env, "DATABASE_CONN_MAX_AGE": "0", "DATABASE_POOL_MAX_SIZE": pool}
            with harness.Site(site_env, workers=workers) as site:
                asyncio.run(run_load(site.url, site.port, tickets, tokens, 3.0))  # warm-up, not counted
                runs[name] = asyncio.run(run_load(site.url, site.port, tickets, tokens, duration))
            harness.terminate_backends(LOAD_DB)
        if "naive" in runs:
            report(
                "naive baseline: 1 uvicorn process, a new PostgreSQL connection per request", *runs["naive"]
            )
        report(
            f"site: {args.workers} uvicorn processes, a pool of {args.pool} PostgreSQL connections each",
            *runs["tuned"],
            baseline=runs.get("naive"),
        )
        errors = sum(runs["tuned"][0].errors.values())
        print(f"\ngoal 0 errors: {'met' if errors == 0 else 'NOT met'} ({errors})")
        checks = Checks("bench-load" + (" --smoke" if args.smoke else ""))
        tuned = runs["tuned"][0]
        checks.require(not tuned.errors, f"errors {tuned.errors} ({'; '.join(tuned.error_samples)})")
        for name, (stats, _) in runs.items():
            for endpoint, values in stats.latencies.items():
                if endpoint != "WS held":
                    checks.require(bool(values), f"{name}: {endpoint} was never served")
        return checks.exit_status()
    finally:
        redis_server.stop()


if __name__ == "__main__":
    sys.exit(main())
