"""Where one flush of the Redis buffer spends its time, statement by statement (PostgreSQL + Redis).

Buffers ``--batches`` 50-event batches of the mix ``analytics_ingest.py`` sends (through
``ingest_request``, as the endpoint does; ``--visitors`` visitors, half of them carried over from the
previous round so open sessions are updated as well as created), then runs one ``flush_events()``
and prints its wall and CPU time, every database statement's wall time grouped by statement (the
``COPY`` included), and the Python-side functions of the store path. ``--rounds`` repeats it (the
first round starts on empty tables).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/x REDIS_URL=redis://127.0.0.1:6379/2 \
        .venv/bin/python benchmarks/flush_profile.py --rounds 3

Uses its own database (``<DATABASE_URL's name>_bench_flush``, migrated on first use) and FLUSHES the
Redis database of ``REDIS_URL``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import own_database_url  # noqa: E402

BATCH = 50


def setup_django() -> None:
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL") or own_database_url("bench_flush")
    os.environ["ANALYTICS_BUFFER"] = "redis"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "revivatech.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import psycopg

    url = os.environ["DATABASE_URL"]
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def reset() -> None:
    from django.db import connection

    from analytics.services import buffer

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT string_agg(quote_ident(tablename), ', ') FROM pg_tables "
            "WHERE schemaname = 'public' AND tablename LIKE 'analytics\\_%%' "
            "AND tablename NOT LIKE 'analytics\\_event\\_%%' AND tablename <> 'analytics_visitorsalt'"
        )
        cursor.execute(f"TRUNCATE {cursor.fetchone()[0]}")  # noqa: S608 (table names from the catalogue)
    buffer.redis_client().flushdb()


def buffer_round(round_no: int, batches: int, visitors: int, rng: random.Random) -> None:
    from django.test import RequestFactory

    from analytics.services.ingestion import ingest_request
    from benchmarks.analytics_ingest import BROWSERS, make_event

    factory = RequestFactory()
    now_ms = int(time.time() * 1000)
    first = round_no * visitors // 2  # half of the visitors come back from the previous round
    for n in range(batches):
        visitor = first + n % visitors
        body = f'{{"sent_at": {now_ms}, "events": ['
        body += ",".join(json.dumps(make_event(rng, now_ms)) for _ in range(BATCH)) + "]}"
        request = factory.post(
            "/api/v1/events/",
            data=body,
            content_type="text/plain",
            HTTP_USER_AGENT=BROWSERS[visitor % len(BROWSERS)].format(v=124),
            REMOTE_ADDR=f"10.{visitor // 65536 % 256}.{visitor // 256 % 256}.{visitor % 256}",
        )
        result = ingest_request(request, body.encode())
        assert result.status == 202, (result.status, result.message)


def statement_kind(sql: str) -> str:
    sql = re.sub(r"\s+", " ", sql.strip())
    sql = re.sub(r"\(%s(?:::\w+)?(?:, %s(?:::\w+)?)*\)(?:, \(%s(?:::\w+)?(?:, %s(?:::\w+)?)*\))*", "(…)", sql)
    sql = re.sub(r"IN \((?:%s, )*%s\)", "IN (…)", sql)
    return sql[:150]


def process_times(pid: int | str = "self") -> tuple[float, float]:
    """(CPU seconds, seconds spent runnable but waiting for a CPU) of a process on this machine."""
    with open(f"/proc/{pid}/schedstat") as f:
        on_cpu, waiting, _ = (int(x) for x in f.read().split())
    return on_cpu / 1e9, waiting / 1e9


def profile_flush() -> dict:
    from django.db import connection

    from analytics.services import buffer, storage

    timings: dict[str, list[float]] = defaultdict(list)

    def timer(execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            timings[statement_kind(sql)].append(time.perf_counter() - start)

    functions: dict[str, float] = defaultdict(float)
    originals = {}
    for module, name in [
        (storage, "_insert_events"),
        (storage, "_update_sessions"),
        (storage, "_upsert_event_rollups"),
        (storage, "_upsert_session_rollups"),
        (storage, "_touch_devices"),
        (storage, "_open_sessions"),
        (storage, "_customer_links"),
        (storage.caps, "cap_dimensions"),
        (storage, "_store"),
        (buffer, "store_isolating"),
    ]:
        original = getattr(module, name)
        originals[(module, name)] = original

        def wrapped(*args, _original=original, _name=name, **kwargs):
            start = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                functions[_name] += time.perf_counter() - start

        setattr(module, name, wrapped)
    # The storage's hooks (the daily rollups and web-vital histograms in the transaction, the live
    # dashboard after the commit), each timed under its module and name.
    hooks = {
        "in_transaction": list(storage.HOOKS.in_transaction),
        "on_commit": list(storage.HOOKS.after_commit),
    }
    for when, registered in (
        ("in_transaction", storage.HOOKS.in_transaction),
        ("on_commit", storage.HOOKS.after_commit),
    ):
        for index, hook in enumerate(registered):

            def timed_hook(chunk, _hook=hook, _label=f"{when} {hook.__module__}.{hook.__qualname__}"):
                start = time.perf_counter()
                try:
                    _hook(chunk)
                finally:
                    functions[_label] += time.perf_counter() - start

            registered[index] = timed_hook
    client = buffer.redis_client()
    for name in ("xrange", "xtrim"):
        original = getattr(client, name)

        def timed(*args, _original=original, _name=name, **kwargs):
            start = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                functions[f"redis {_name}"] += time.perf_counter() - start

        setattr(client, name, timed)
    commit = connection.commit

    def timed_commit():
        start = time.perf_counter()
        try:
            return commit()
        finally:
            functions["COMMIT"] += time.perf_counter() - start

    connection.commit = timed_commit
    collecting = [0.0, 0.0]  # started at, total

    def on_collection(phase, info):
        if phase == "start":
            collecting[0] = time.perf_counter()
        else:
            collecting[1] += time.perf_counter() - collecting[0]

    gc.callbacks.append(on_collection)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]
        with connection.execute_wrapper(timer):
            own, server = process_times(), process_times(backend)
            wall = time.perf_counter()
            result = buffer.flush_events()
            wall = time.perf_counter() - wall
            own = [b - a for a, b in zip(own, process_times(), strict=True)]
            server = [b - a for a, b in zip(server, process_times(backend), strict=True)]
    finally:
        for (module, name), original in originals.items():
            setattr(module, name, original)
        storage.HOOKS.in_transaction[:] = hooks["in_transaction"]
        storage.HOOKS.after_commit[:] = hooks["on_commit"]
        del client.xrange, client.xtrim, connection.commit
        gc.callbacks.remove(on_collection)
    return {
        "wall": wall,
        "cpu": own[0],
        "runqueue": own[1],
        "server_cpu": server[0],
        "server_runqueue": server[1],
        "gc": collecting[1],
        "events": result.events,
        "statements": timings,
        "functions": functions,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batches", type=int, default=400)
    parser.add_argument("--visitors", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    setup_django()
    reset()
    rng = random.Random(7)
    for round_no in range(args.rounds):
        buffer_round(round_no, args.batches, args.visitors, rng)
        out = profile_flush()
        statements = out["statements"]
        db_total = sum(sum(v) for v in statements.values())
        count = sum(len(v) for v in statements.values())
        wall, cpu = out["wall"], out["cpu"]
        print(f"\nround {round_no + 1}: {out['events']} events; wall {wall:.3f} s, CPU {cpu:.3f} s")
        rest = out["wall"] - out["cpu"] - out["runqueue"] - out["server_cpu"] - out["server_runqueue"]
        print(
            f"  waiting for a CPU {out['runqueue']:.3f} s; garbage collection {out['gc']:.3f} s; PostgreSQL "
            f"backend: CPU {out['server_cpu']:.3f} s, waiting for a CPU {out['server_runqueue']:.3f} s; "
            f"rest (I/O, Redis, idle; negative when both ran at once) {rest:.3f} s"
        )
        print(f"  {count} statements through execute() (COPY is not one of them): {db_total:.3f} s")
        for sql, values in sorted(statements.items(), key=lambda kv: -sum(kv[1]))[:25]:
            print(f"  {sum(values):7.3f} s {len(values):4d}x  {sql}")
        print("  functions (wall, inclusive):")
        for name, seconds in sorted(out["functions"].items(), key=lambda kv: -kv[1]):
            print(f"  {seconds:7.3f} s  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
