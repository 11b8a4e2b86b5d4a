"""Live tracking across processes: N tracking sockets spread evenly over two uvicorn processes (as
docker-compose.yml's web1 and web2, with its flags and production settings) on a Redis channel layer,
status updates fired through the API at a bounded rate, and one of the two processes restarted
mid-run. Loopback only, bounded in count and time.

Measured per layer: commit-to-receipt latency (the broadcaster stamps ``published_at`` right after
the commit), lost events (every event each socket's ticket got after the socket's first snapshot,
read from the database at the end, against what the client applied), duplicates (event frames a
client received twice), memory per connection (RSS growth of both server processes while the
sockets open, divided by N) and how many clients reconnected after the restart.

The clients follow tests/e2e/live.py's ``LiveTicket`` (static/js/live-tracking.js): on a dropped
socket they reconnect after a jittered backoff (the first one after a server's restart anywhere
within 5 s) to the next URL of the list (the other process, as nginx would send them) with
``?since=<last applied seq>``, and drop an event whose seq they have already applied.

    make bench-realtime-processes            # N = 10,000 over 25 tickets, pubsub then core
    .venv/bin/python benchmarks/realtime_processes.py --sockets 2000 --layers pubsub
    .venv/bin/python benchmarks/realtime_processes.py --smoke   # 200 sockets, pubsub, seconds

Abuse limits: the updates come from one staff account far over the API write limits; that account
(``bench-staff``) is exempted on the servers explicitly (``RATE_LIMIT_EXEMPT_USERNAMES``), every
other limit stays as in production. Why two processes and not ``uvicorn --workers 2``: a worker's
restart must be chosen and timed by the benchmark, and compose runs two processes anyway.

Its own PostgreSQL database (``<DATABASE_URL's name>_bench_realtime_processes``) and a private
``redis-server`` on a free loopback port. Exit status 1 when an update was refused, an event was
lost or delivered twice on the ``pubsub`` layer, or no client reconnected after the restart.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import resource
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import realtime_latency as single  # noqa: E402
from benchmarks.common import Checks, own_database_url  # noqa: E402
from tests.e2e.live import reconnect_delay  # noqa: E402 - live-tracking.js's, as the e2e clients use it

single.BENCH_DB = os.environ.get("BENCH_DATABASE_URL") or own_database_url("bench_realtime_processes")
#: docker-compose.yml's web command, less what only matters behind its proxy (``--ws`` adds to it:
#: ``--ws "--ws-per-message-deflate true"`` measures uvicorn's default).
COMPOSE_FLAGS = [
    "--lifespan",
    "off",
    "--timeout-graceful-shutdown",
    "20",
    "--ws-per-message-deflate",
    "false",
]


def server_env(layer: str) -> dict[str, str]:
    env = single.server_env(layer)
    # As compose's web processes: a psycopg pool, no persistent connections.
    env.update(DATABASE_CONN_MAX_AGE="0", DATABASE_POOL_MAX_SIZE="8", DATABASE_POOL_TIMEOUT="5")
    return env


def start_server(layer: str, port: int, ws_flags: list[str]) -> subprocess.Popen:
    process = subprocess.Popen(  # noqa: S603
        [
            str(Path(sys.executable).parent / "uvicorn"),
            "revivatech.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *COMPOSE_FLAGS,
            *ws_flags,
            "--log-level",
            "warning",
            "--backlog",
            "4096",
        ],  # fmt: skip
        cwd=ROOT,
        env=server_env(layer),
    )
    return single.wait_healthy(process, port)


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Tracker:
    """One customer's tracking page (tests/e2e/live.py's LiveTicket, plus latency)."""

    ports: list[int]
    home: int  # index of the URL it starts on
    reference: str
    token: str
    last_seq: int | None = None
    first_seq: int | None = None
    applied: list[int] = field(default_factory=list)
    received: list[int] = field(default_factory=list)
    #: (published_at, latency, index of the process the socket was on)
    latencies: list[tuple[float, float, int]] = field(default_factory=list)
    on: int = 0  # index of the process the open socket is on
    connects: int = 0
    attempt: int = 0
    live: asyncio.Event = field(default_factory=asyncio.Event)
    socket: object = None

    def url(self, index: int) -> tuple[str, str]:
        port = self.ports[index % len(self.ports)]
        params = {"token": self.token}
        if self.last_seq is not None:
            params["since"] = str(self.last_seq)
        return (
            f"ws://127.0.0.1:{port}/ws/repairs/{self.reference}/?{urlencode(params)}",
            f"http://127.0.0.1:{port}",
        )

    def receive(self, frame: dict, now: float) -> None:
        kind = frame.get("type")
        if kind == "event":
            self.received.append(frame["seq"])
            if "published_at" in frame:
                self.latencies.append((frame["published_at"], now - frame["published_at"], self.on))
            if self.last_seq is not None and frame["seq"] <= self.last_seq:
                return
            self.last_seq = frame["seq"]
            self.applied.append(frame["seq"])
        elif kind == "snapshot":
            self.attempt = 0
            self.last_seq = max(self.last_seq or 0, frame["ticket"]["last_seq"])
            if self.first_seq is None:
                self.first_seq = self.last_seq
            self.live.set()

    async def run(self, stop: asyncio.Event, gate: asyncio.Semaphore) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import WebSocketException

        index = self.home
        while not stop.is_set():
            url, origin = self.url(index)
            close_code = None
            try:
                async with gate:  # bounds the connects in flight, as a real crowd's spread would
                    # As a browser: no proxy lookup in the environment per connect, no client
                    # pings (the servers ping); both cost this one client process seconds of CPU
                    # that it then stamped on the frames as latency.
                    socket = await connect(
                        url, origin=origin, open_timeout=60, close_timeout=2, max_queue=None,
                        proxy=None, ping_interval=None,
                    )  # fmt: skip
                self.socket, self.on = socket, index % len(self.ports)
                self.connects += 1
                async with socket:
                    async for raw in socket:
                        self.receive(json.loads(raw), time.time())
                close_code = socket.close_code
            except (TimeoutError, OSError, WebSocketException):
                pass
            if stop.is_set():
                return
            index += 1  # the next URL: the other process, as the proxy would route it
            delay = reconnect_delay(self.attempt, close_code)
            self.attempt += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)


def post_transition(port: int, api_token: str, reference: str, target: str) -> int:
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"http://127.0.0.1:{port}/api/v1/repairs/{reference}/transition/",
        data=json.dumps({"status": target}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Token {api_token}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


async def run_layer(args, layer: str, tickets: list[tuple[str, str, str]], api_token: str) -> dict:
    ports = [single.free_port(), single.free_port()]
    ws_flags = args.ws.split()
    servers = [start_server(layer, port, ws_flags) for port in ports]
    try:
        return await drive(args, layer, tickets, api_token, ports, servers, ws_flags)
    finally:
        for server in servers:
            stop_server(server)


async def drive(args, layer, tickets, api_token, ports, servers, ws_flags) -> dict:
    n = args.sockets
    chosen = [tickets[i % len(tickets)] for i in range(n)]
    trackers = [Tracker(ports, i % len(ports), ref, token) for i, (ref, token, _) in enumerate(chosen)]
    rss_before = sum(single.rss_bytes(s.pid) for s in servers)
    stop = asyncio.Event()
    gate = asyncio.Semaphore(200)
    started = time.monotonic()
    tasks = [asyncio.create_task(t.run(stop, gate)) for t in trackers]
    lags: list[tuple[float, float]] = []  # (wall clock, how late this client's loop woke up)
    lag_task = asyncio.create_task(watch_loop_lag(stop, lags))
    connect_deadline = time.monotonic() + args.connect_timeout
    while time.monotonic() < connect_deadline and not all(t.live.is_set() for t in trackers):
        await asyncio.sleep(0.2)
    live = sum(t.live.is_set() for t in trackers)
    connect_seconds = time.monotonic() - started
    # The clients' own full garbage collections (10,000 sockets' objects: a second or more) would
    # stamp every frame arriving meanwhile late: the client's pauses are not the server's latency.
    gc.collect()
    gc.freeze()
    await asyncio.sleep(1.0)
    rss_after = sum(single.rss_bytes(s.pid) for s in servers)
    print(f"  {layer}: {live}/{n} sockets live in {connect_seconds:.1f} s", flush=True)

    status = {ref: st for ref, _, st in tickets}
    refs = list(status)
    codes: list[int] = []
    restart_at = args.updates // 2
    restart_task = None
    restarted_at = None
    restart_began = float("inf")  # wall clock, as published_at

    async def restart_second() -> None:
        nonlocal restarted_at, restart_began
        restart_began = time.time()
        began = time.monotonic()
        # SIGTERM as `docker compose restart web2`: its sockets are closed with 1012, then it starts again.
        await asyncio.to_thread(stop_server, servers[1])
        stopped = time.monotonic()
        servers[1] = await asyncio.to_thread(start_server, layer, ports[1], ws_flags)
        restarted_at = (stopped - began, time.monotonic() - stopped)
        print(f"  {layer}: process 2 stopped in {restarted_at[0]:.1f} s, up again in {restarted_at[1]:.1f} s")

    interval = 1.0 / args.rate
    fire_started, fire_wall = time.monotonic(), time.time()
    pending = []
    for i in range(args.updates):
        if i == restart_at and args.restart:
            restart_task = asyncio.create_task(restart_second())
        ref = refs[i % len(refs)]  # round robin: a ticket never has two updates in flight
        target = "awaiting_parts" if status[ref] == "in_repair" else "in_repair"
        status[ref] = target
        port = ports[0] if restart_task is not None and not restart_task.done() else ports[i % 2]
        pending.append(asyncio.create_task(asyncio.to_thread(post_transition, port, api_token, ref, target)))
        await asyncio.sleep(max(0.0, fire_started + (i + 1) * interval - time.monotonic()))
        if len(pending) >= len(refs):
            codes += await asyncio.gather(*pending)
            pending = []
    codes += await asyncio.gather(*pending)
    if restart_task is not None:
        await restart_task

    print(f"  {layer}: {args.updates} updates fired in {time.monotonic() - fire_started:.1f} s", flush=True)
    # Let the last live frames land first: the truth query holds this process's interpreter
    # lock, and frames read meanwhile would be stamped late by the client, not by the servers.
    await asyncio.sleep(2.0)
    truth = await asyncio.to_thread(expected_events, tickets)
    drain_started = time.monotonic()
    deadline = time.monotonic() + args.drain
    while time.monotonic() < deadline and any(missing(t, truth) for t in trackers if t.first_seq is not None):
        await asyncio.sleep(1.0)
    print(f"  {layer}: drained in {time.monotonic() - drain_started:.1f} s", flush=True)
    # Where the CPU went (both servers, this client, all on the same cores): a saturated client
    # shows up here before it shows up as latency.
    server_cpu = [cpu_seconds(s.pid) for s in servers]
    client_cpu = sum(os.times()[:2])
    print(
        f"  {layer}: CPU seconds: process 1 {server_cpu[0]:.0f}, process 2 (since its restart) "
        f"{server_cpu[1]:.0f}, clients {client_cpu:.0f}; wall {time.monotonic() - started:.0f} s",
        flush=True,
    )
    stop.set()
    await lag_task
    closing = [t.socket.close() for t in trackers if t.socket is not None]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*closing, return_exceptions=True), 15)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

    gc.unfreeze()
    latencies = sorted(lat for t in trackers for _, lat, _ in t.latencies)
    # Per event (one published_at each): a slow tail is one slow event for all its sockets, or
    # some sockets late for every event; the slowest events tell which.
    by_event: dict[float, list[float]] = {}
    by_process: dict[tuple[float, int], list[float]] = {}  # which process was late
    for t in trackers:
        for at, lat, on in t.latencies:
            by_event.setdefault(at, []).append(lat)
            by_process.setdefault((at, on), []).append(lat)

    def client_lag(at: float, within: float) -> float:
        """The longest this client's own loop was late while the event's frames were arriving, ms:
        frames read then were stamped that much late by the client, not by the servers."""
        return max((lag for when, lag in lags if at <= when <= at + within + 0.05), default=0.0) * 1000

    def medians(at: float) -> str:
        return "/".join(
            f"{single.percentile(sorted(by_process.get((at, on), [0.0])), 50):.0f}"
            for on in range(len(ports))
        )

    slowest = sorted(
        (
            (
                at - fire_wall,
                single.percentile(sorted(v), 50),
                max(v) * 1000,
                medians(at),
                client_lag(at, max(v)),
            )
            for at, v in by_event.items()
        ),
        key=lambda row: -row[2],
    )[:5]
    late_events = sum(1 for v in by_event.values() if max(v) > 0.15)
    # Before the restart: both processes serving, no reconnect storm (the steady state).
    steady = sorted(lat for t in trackers for at, lat, _ in t.latencies if at < restart_began)
    counted = [t for t in trackers if t.first_seq is not None]
    expected = sum(len([s for s in truth[t.reference] if s > t.first_seq]) for t in counted)
    lost = sum(len(missing(t, truth)) for t in counted)
    return {
        "layer": layer,
        "n": n,
        "live": live,
        "connect_s": connect_seconds,
        "expected": expected,
        "lost": lost,
        "duplicates": sum(len(t.received) - len(set(t.received)) for t in trackers),
        "api_errors": sum(1 for code in codes if code != 200),
        "reconnected": sum(1 for t in trackers if t.connects > 1),
        "on_restarted": sum(1 for t in trackers if t.home == 1),
        "p50": single.percentile(latencies, 50),
        "p95": single.percentile(latencies, 95),
        "p99": single.percentile(latencies, 99),
        "steady_p50": single.percentile(steady, 50),
        "steady_p99": single.percentile(steady, 99),
        "live_received": len(latencies),
        "kb_per_conn": (rss_after - rss_before) / 1024 / max(1, live),
        "ws": " ".join(ws_flags),
        "slowest": slowest,
        "late_events": (late_events, len(by_event)),
    }


async def watch_loop_lag(stop: asyncio.Event, lags: list[tuple[float, float]], every: float = 0.01) -> None:
    """How late this client's event loop wakes from a short sleep: when it is busy (thousands of
    sockets closing or reconnecting at once), every frame it reads meanwhile is stamped late."""
    while not stop.is_set():
        before = time.monotonic()
        await asyncio.sleep(every)
        late = time.monotonic() - before - every
        if late > 0.005:
            lags.append((time.time(), late))


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def missing(tracker: Tracker, truth: dict[str, list[int]]) -> set[int]:
    wanted = {s for s in truth[tracker.reference] if s > tracker.first_seq}
    return wanted - set(tracker.applied)


def expected_events(tickets: list[tuple[str, str, str]]) -> dict[str, list[int]]:
    """Every customer-visible event of each ticket, as the database holds it: the truth."""
    from repairs import selectors
    from repairs.models import RepairTicket

    truth = {}
    for ticket in RepairTicket.objects.filter(reference__in=[t[0] for t in tickets]):
        truth[ticket.reference] = list(
            selectors.ticket_events_since(ticket, 0, customer_view=True).values_list("seq", flat=True)
        )
    return truth


def current_statuses(tickets: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    from repairs.models import RepairTicket

    rows = RepairTicket.objects.filter(reference__in=[t[0] for t in tickets])
    now = dict(rows.values_list("reference", "status"))
    return [(ref, tok, now[ref]) for ref, tok, _ in tickets]


def report(args, results: list[dict]) -> None:
    print()
    print(
        f"Live tracking across two uvicorn processes ({args.updates} status updates at {args.rate:g}/s over "
        f"{args.tickets} tickets, {'one process restarted halfway' if args.restart else 'no restart'}; "
        f"uvicorn {' '.join(COMPOSE_FLAGS)} {args.ws}; load average {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} CPUs)"
    )
    header = (
        f"{'sockets':>8} {'workers':>8} {'layer':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'lost':>6} "
        f"{'KB/conn':>8} {'reconnects':>11} {'duplicates':>11}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r['n']:>8} {2:>8} {r['layer']:>7} {r['p50']:8.1f} {r['p95']:8.1f} {r['p99']:8.1f} "
            f"{r['lost']:>6} "
            f"{r['kb_per_conn']:8.1f} {r['reconnected']:>5}/{r['on_restarted']:<5} {r['duplicates']:>11}"
        )
    for r in results:
        print(
            f"  {r['layer']}: {r['live']}/{r['n']} live after {r['connect_s']:.1f} s, {r['expected']} events "
            f"expected, {r['live_received']} received live, {r['api_errors']} updates refused; before the "
            f"restart p50 {r['steady_p50']:.1f} ms, p99 {r['steady_p99']:.1f} ms"
        )
        print(
            f"  {r['layer']}: {r['late_events'][0]} of {r['late_events'][1]} events reached a socket "
            "after 150 ms; "
            "slowest events (seconds after the first update: median / slowest socket, ms; "
            "medians on process 1/2): "
            + ", ".join(
                f"{at:.1f} s: {p50:.0f} / {top:.0f} ({each}; client loop late {lag:.0f})"
                for at, p50, top, each, lag in r["slowest"]
            )
        )
    goal = next((r for r in results if r["layer"] == "pubsub"), None)
    if goal:
        # Issue #18's terms: p99 < 150 ms for 10,000 sockets over two processes; a restart mid-run
        # loses nothing. While both serve = the whole run without a restart, or before it.
        serving = goal["steady_p99"] if args.restart else goal["p99"]
        checks = [
            (serving < 150, f"p99 < 150 ms while both processes serve: {serving:.1f} ms"),
            (goal["lost"] == 0 and goal["duplicates"] == 0, f"{goal['lost']} lost, {goal['duplicates']} "
             f"duplicated{', restart included' if args.restart else ''}"),
            (goal["kb_per_conn"] <= 60, f"<= 60 KB per socket: {goal['kb_per_conn']:.1f}"),
        ]  # fmt: skip
        met = all(ok for ok, _ in checks)
        print(f"\nGoal at N = {goal['n']} on pubsub: {'met' if met else 'NOT met'}")
        for ok, text in checks:
            print(f"  {'met' if ok else 'NOT met'}: {text}")
        if args.restart:
            print(
                f"  with the restart's first seconds included, p99 {goal['p99']:.1f} ms "
                f"({goal['late_events'][0]} of {goal['late_events'][1]} events reached a socket after 150 ms)"
            )


def raise_open_files() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # inherited by the servers too


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, default=10_000)
    parser.add_argument("--tickets", type=int, default=25)
    parser.add_argument("--updates", type=int, default=100, help="status updates fired per layer")
    parser.add_argument("--rate", type=float, default=2.0, help="updates per second")
    parser.add_argument("--layers", default="pubsub,core")
    parser.add_argument("--ws", default="", help="extra uvicorn WebSocket flags")
    parser.add_argument("--no-restart", dest="restart", action="store_false")
    parser.add_argument("--connect-timeout", type=float, default=90.0)
    parser.add_argument("--drain", type=float, default=45.0, help="seconds to wait for the last events")
    parser.add_argument("--smoke", action="store_true", help="200 sockets, 10 tickets, 20 updates, pubsub")
    args = parser.parse_args()
    if args.smoke:
        args.sockets, args.tickets, args.updates, args.rate, args.layers = 200, 10, 20, 5.0, "pubsub"
    layers = args.layers.split(",")
    checks = Checks("bench-realtime-processes" + (" --smoke" if args.smoke else ""))
    raise_open_files()

    from benchmarks.faults.harness import PrivateRedis

    private_redis = PrivateRedis().start()
    single.REDIS_URL = private_redis.url
    results = []
    try:
        single.ensure_database(single.BENCH_DB)
        tickets, api_token = single.prepare(args.tickets)
        for layer in layers:
            results.append(asyncio.run(run_layer(args, layer, tickets, api_token)))
            tickets = current_statuses(tickets)
    finally:
        private_redis.stop()
    report(args, results)
    for r in results:
        where = f"{r['layer']} N={r['n']}"
        checks.require(r["api_errors"] == 0, f"{where}: {r['api_errors']} status updates refused by the API")
        checks.require(r["live"] == r["n"], f"{where}: only {r['live']} of {r['n']} sockets got a snapshot")
        checks.require(r["expected"] > 0, f"{where}: no event was expected (nothing fired)")
        checks.require(r["live_received"] > 0, f"{where}: no event arrived live")
        if args.restart:
            checks.require(r["reconnected"] > 0, f"{where}: no client reconnected after the restart")
        # The core RedisChannelLayer loses live messages under load (the README's layer table); the
        # clients' resume still fills them, but its figures are reported, not required.
        if r["layer"] != "core":
            checks.require(r["lost"] == 0, f"{where}: {r['lost']} events lost")
            checks.require(r["duplicates"] == 0, f"{where}: {r['duplicates']} events delivered twice")
    return checks.exit_status()


if __name__ == "__main__":
    sys.exit(main())
