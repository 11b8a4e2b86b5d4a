"""Dashboard API queries over 5,000,000 events: rollups against the raw events table.

Creates its own PostgreSQL database (``<DATABASE_URL's name>_bench_dashboard`` on the server of
``DATABASE_URL``, so two checkouts never drop each other's; dropped
and recreated unless ``--reuse``), migrates it, loads synthetic visits with ``COPY`` (sessions and
events with realistic, skewed dimensions over ``--days`` days up to now, web vitals included), builds
the hourly rollups with the SQL equivalent of the storage's upserts and the daily ones with the
SQL the migration uses (``analytics.dashboard.rollups.backfill_sql``), then times each dashboard query
``--repeat`` times: the real selectors (rollups) and the same figures computed from the raw tables.
Prints p50/p95 per query, the ratio raw/rollup, and whether every p95 is under 200 ms.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python benchmarks/dashboard_queries.py
    ... --events 500000 --repeat 10      # a quicker run
    ... --reuse                          # keep the loaded database from a previous run
    ... --smoke                          # seconds: 5,000 events over 3 days, 2 runs per query

Live counters come from a private ``redis-server`` on a free loopback port (or ``--redis-url``).
Exit status 1 when a query or the API document could not be computed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import Checks, own_database  # noqa: E402

BUDGET_MS = 200.0
DEVICES = (["desktop", "mobile", "tablet", "other"], [52, 40, 7, 1])
BROWSERS = (
    ["Chrome", "Safari", "Firefox", "Edge", "Samsung Internet", "Opera", "Other"],
    [55, 22, 8, 8, 4, 2, 1],
)
COUNTRIES = ["GB", "IE", "US", "FR", "DE", "ES", "IT", "NL", "BE", "PL", "SE", "DK", "PT", "CA", "AU", "IN",
             "CH", "AT", "NO", "FI"]  # fmt: skip
SOURCES = (
    ["", "google", "facebook", "newsletter", "bing", "instagram", "twitter", "partner", "tiktok"],
    [55, 20, 8, 5, 4, 3, 2, 2, 1],
)
PAGES = ["/", "/book/", "/pricing/", "/account/repairs/", "/track/", "/faq/", "/contact/", "/about/"] + [
    f"/repairs/{kind}/{model}/"
    for kind in ("iphone", "samsung", "laptop", "console")
    for model in (
        "screen",
        "battery",
        "charging-port",
        "water-damage",
        "keyboard",
        "camera",
        "speaker",
        "other",
    )
]
SESSION_COLUMNS = (
    "id, identity, visitor_key, customer_id, started_at, last_seen_at, entry_path, exit_path, pageviews, "
    "events, engaged_ms, converted, is_bounce, pages, referrer_host, utm_source, utm_medium, utm_campaign, "
    "device_type, browser, os, country"
)
EVENT_COLUMNS = (
    "occurred_at, type, session_id, visitor_key, path, device_type, browser, os, country, utm_source, props"
)


def zipf_weights(n: int, s: float = 1.1) -> list[float]:
    return [1 / (rank**s) for rank in range(1, n + 1)]


# --- database -------------------------------------------------------------------------------------------


def bench_url(base: str, name: str) -> str:
    return base.rsplit("/", 1)[0] + "/" + name


def recreate_database(base: str, name: str) -> None:
    import psycopg

    with psycopg.connect(bench_url(base, "postgres"), autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(url: str, redis_url: str) -> None:
    for key in ("REDIS_URL", "ANALYTICS_REDIS_URL"):
        os.environ.pop(key, None)
    if redis_url:  # live counters in Redis, as in production; without it they come from the database
        os.environ["REDIS_URL"] = redis_url
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "revivatech.settings")
    os.environ.setdefault("SECRET_KEY", "bench-" + "x" * 50)
    import django

    django.setup()


# --- synthetic visits -------------------------------------------------------------------------------------


def hex_uuid(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


def generate(target_events: int, days: int, now: datetime, seed: int = 7):
    """Yield (session_line, [event_lines]) in COPY text format until ``target_events`` events."""
    rng = random.Random(seed)
    page_weights = zipf_weights(len(PAGES))
    country_weights = zipf_weights(len(COUNTRIES), 1.3)
    start = now - timedelta(days=days)
    span = (now - start).total_seconds() - 3600
    hour_weight = [0.3, 0.2, 0.15, 0.1, 0.1, 0.15, 0.3, 0.6, 0.9, 1.0, 1.0, 1.0,
                   1.1, 1.0, 1.0, 1.0, 1.0, 1.1, 1.2, 1.3, 1.3, 1.1, 0.8, 0.5]  # fmt: skip
    produced = 0
    while produced < target_events:
        # A start time with a daily rhythm (rejection sampling on the hour's weight).
        while True:
            started = start + timedelta(seconds=rng.random() * span)
            if rng.random() * 1.3 < hour_weight[started.hour]:
                break
        identity = hex_uuid(rng)
        device = rng.choices(*DEVICES)[0]
        browser = rng.choices(*BROWSERS)[0]
        country = rng.choices(COUNTRIES, country_weights)[0]
        source = rng.choices(*SOURCES)[0]
        os_name = {"desktop": "Windows", "mobile": "Android", "tablet": "iPadOS"}.get(device, "Linux")
        session_id = hex_uuid(rng)
        pages_seen = 1
        while rng.random() < 0.6 and pages_seen < 12:
            pages_seen += 1
        moment = started
        lines: list[str] = []
        path_list: list[str] = []
        engaged = 0
        converted = False
        visit_book = rng.random() < 0.15

        head = f"\t{session_id}\t{identity}\t"
        tail = f"\t{device}\t{browser}\t{os_name}\t{country}\t{source}\t"

        def add(
            event_type: int, path: str, props: str = "{}", *, at=None, head=head, tail=tail, out=lines
        ) -> None:
            out.append(f"{at.isoformat()}\t{event_type}{head}{path}{tail}{props}\n")

        for index in range(pages_seen):
            path = "/book/" if (visit_book and index == 1) else rng.choices(PAGES, page_weights)[0]
            if not path_list or path_list[-1] != path:
                path_list.append(path)
            add(1, path, at=moment)
            if index == 0:
                for name, value in (
                    ("LCP", rng.lognormvariate(7.6, 0.5)),
                    ("INP", rng.lognormvariate(4.9, 0.6)),
                    ("CLS", rng.lognormvariate(-3.2, 1.0)),
                ):
                    if rng.random() < 0.3:
                        add(
                            19,
                            path,
                            json.dumps({"name": name, "value": round(min(value, 600_000), 4)}),
                            at=moment,
                        )
            if rng.random() < 0.6:
                add(3, path, '{"depth":50}', at=moment)
            if rng.random() < 0.5:
                add(2, path, '{"target":"a"}', at=moment)
            if rng.random() < 0.02:
                add(15, path, '{"selector":"#cta"}', at=moment)
            if path == "/book/" and rng.random() < 0.5:
                add(8, path, at=moment)
                if rng.random() < 0.5:
                    moment += timedelta(seconds=rng.randint(30, 240))
                    add(9, path, '{"ticket":"RT-BENCH"}', at=moment)
                    converted = True
                    if rng.random() < 0.6:
                        add(10, "/track/", at=moment)
                        add(
                            13 if rng.random() < 0.92 else 14,
                            "/track/",
                            '{"amount":8900,"currency":"GBP"}',
                            at=moment,
                        )
            dwell = int(rng.expovariate(1 / 25_000))
            engaged += dwell
            moment += timedelta(milliseconds=dwell + 500)
            add(18, path, json.dumps({"engaged_ms": dwell}), at=moment)
        is_bounce = pages_seen <= 1 and engaged < 10_000 and not converted
        pages_json = json.dumps(path_list)
        session_line = (
            f"{session_id}\t{identity}\t{identity}\t\\N\t{started.isoformat()}\t{moment.isoformat()}\t"
            f"{path_list[0]}\t{path_list[-1]}\t{pages_seen}\t{len(lines)}\t{engaged}\t"
            f"{'t' if converted else 'f'}\t{'t' if is_bounce else 'f'}\t{pages_json}\t\t{source}\t\t\t"
            f"{device}\t{browser}\t{os_name}\t{country}\n"
        )
        produced += len(lines)
        yield session_line, lines


def load(url: str, target_events: int, days: int, now: datetime) -> tuple[int, int, float]:
    import psycopg
    from django.db import connection

    from analytics.services import partitions

    partitions.ensure_for(now - timedelta(days=days + 1), now + timedelta(days=1))
    connection.close()
    started = time.perf_counter()
    sessions = events = 0
    # Secondary indexes are dropped for the load and built again afterwards (much faster than
    # maintaining random-UUID b-trees row by row); the result has the migration's indexes.
    with psycopg.connect(url, autocommit=True) as conn:
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('analytics_event', "
            "'analytics_session') AND indexname NOT LIKE '%%pkey'"
        ).fetchall()
        for name, _definition in indexes:
            conn.execute(f'DROP INDEX "{name}"')
    # Two connections, two COPY streams written side by side (nothing held in memory).
    with psycopg.connect(url) as session_conn, psycopg.connect(url) as event_conn:
        with (
            session_conn.cursor().copy(
                f"COPY analytics_session ({SESSION_COLUMNS}) FROM STDIN"
            ) as session_copy,
            event_conn.cursor().copy(f"COPY analytics_event ({EVENT_COLUMNS}) FROM STDIN") as event_copy,
        ):
            pending: list[str] = []
            for session_line, lines in generate(target_events, days, now):
                session_copy.write(session_line)
                sessions += 1
                events += len(lines)
                pending.extend(lines)
                if len(pending) >= 50_000:
                    event_copy.write("".join(pending))
                    pending = []
                    if events % 1_000_000 < 50_000:
                        print(f"  … {events:,} events ({time.perf_counter() - started:.0f} s)", flush=True)
            event_copy.write("".join(pending))
        session_conn.commit()
        event_conn.commit()
    print(f"  copied in {time.perf_counter() - started:.0f} s; building {len(indexes)} indexes …", flush=True)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        for _name, definition in indexes:
            conn.execute(definition.replace(" ON ONLY ", " ON "))
    return sessions, events, time.perf_counter() - started


ROLLUP_TABLES = (
    "analytics_eventrollup",
    "analytics_sessionrollup",
    "analytics_dailyeventrollup",
    "analytics_dailysessionrollup",
    "analytics_dailyeventslice",
    "analytics_dailysessionslice",
)
HOURLY_EVENT_ROLLUP = """
INSERT INTO analytics_eventrollup (hour, type, path, device_type, browser, country, utm_source, count)
SELECT date_trunc('hour', occurred_at), type, path, device_type, browser, country, utm_source, count(*)
FROM analytics_event GROUP BY 1, 2, 3, 4, 5, 6, 7
"""
HOURLY_SESSION_ROLLUP = """
INSERT INTO analytics_sessionrollup (hour, entry_path, device_type, browser, country, utm_source, sessions,
       bounces, conversions, pageviews, duration_seconds, engaged_ms)
SELECT date_trunc('hour', started_at), entry_path, device_type, browser, country, utm_source, count(*),
       sum(is_bounce::int), sum(converted::int), sum(pageviews),
       sum(extract(epoch FROM last_seen_at - started_at)::bigint), sum(engaged_ms)
FROM analytics_session GROUP BY 1, 2, 3, 4, 5, 6
"""


def build_rollups(url: str, now: datetime, days: int) -> float:
    """Hourly rollups: the sums the storage's ``INSERT … ON CONFLICT`` keeps; daily ones: the
    migration's backfill SQL (``rollups.backfill_sql``); web-vital histograms: analytics.monitoring's
    own rebuild."""
    import psycopg

    started = time.perf_counter()
    from analytics.dashboard.rollups import backfill_sql

    with psycopg.connect(url) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        conn.execute("SET max_parallel_workers_per_gather = 2")
        for table in ROLLUP_TABLES:
            conn.execute(f"TRUNCATE {table}")
        conn.execute(HOURLY_EVENT_ROLLUP)
        conn.execute(HOURLY_SESSION_ROLLUP)
        for statement in backfill_sql("CAST(hour AS date)"):
            conn.execute(statement)
        conn.commit()
    try:
        vitals = importlib.import_module("analytics.monitoring.services.vitals")
        vitals.rebuild(now - timedelta(days=days + 1), now + timedelta(hours=1))
    except ImportError:
        print("  (analytics.monitoring not installed: no web-vital histograms)")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return time.perf_counter() - started


# --- the queries ----------------------------------------------------------------------------------------


def raw_queries(filters):
    """The same figures from the raw tables (analytics_event, analytics_session)."""
    from django.db.models import Count, F, Q, Sum
    from django.db.models.functions import TruncDay

    from analytics.models import Event, EventType, Session

    start, end, segment = filters.start, filters.end, filters.segment.as_filter()

    def events():
        return Event.objects.filter(occurred_at__gte=start, occurred_at__lt=end, **segment)

    def sessions():
        return Session.objects.filter(started_at__gte=start, started_at__lt=end, **segment)

    def overview():
        figures = sessions().aggregate(
            n=Count("id"),
            bounces=Count("id", filter=Q(is_bounce=True)),
            conv=Count("id", filter=Q(converted=True)),
        )
        by_type = dict(
            events()
            .filter(type__in=[1, 9, 10, 13, 14, 15])
            .values("type")
            .annotate(n=Count("id"))
            .values_list("type", "n")
        )
        return figures, by_type

    def timeseries():
        return list(
            sessions()
            .annotate(t=TruncDay("started_at"))
            .values("t")
            .annotate(n=Count("id"), pv=Sum("pageviews"), c=Count("id", filter=Q(converted=True)))
        )

    def breakdowns():
        return {
            dim: list(
                sessions()
                .values(dim)
                .annotate(n=Count("id"), b=Count("id", filter=Q(is_bounce=True)))
                .order_by("-n")[:10]
            )
            for dim in ("device_type", "browser", "country", "utm_source")
        }

    def top_pages():
        return list(
            events()
            .filter(type=EventType.PAGEVIEW)
            .values("path")
            .annotate(n=Count("id"))
            .order_by("-n")[:10]
        )

    def funnel():
        counts = dict(
            events()
            .filter(type__in=[8, 9, 10, 13])
            .values("type")
            .annotate(n=Count("id"))
            .values_list("type", "n")
        )
        book = events().filter(type=EventType.PAGEVIEW, path="/book/").count()
        return sessions().count(), book, counts

    def vitals():
        from django.db import connection

        where = " AND ".join(f"{name} = %s" for name in segment)
        sql = (
            "SELECT path, props->>'name', "
            "percentile_disc(0.75) WITHIN GROUP (ORDER BY (props->>'value')::float) "
            "FROM analytics_event WHERE type = 19 AND occurred_at >= %s AND occurred_at < %s "
            + (f"AND {where} " if where else "")
            + "GROUP BY 1, 2"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [start, end, *segment.values()])
            return cursor.fetchall()

    _ = F
    return {
        "overview": overview,
        "timeseries": timeseries,
        "breakdowns": breakdowns,
        "top_pages": top_pages,
        "funnel": funnel,
        "vitals": vitals,
    }


def rollup_queries(filters):
    from django.utils import timezone

    from analytics.dashboard import live, selectors, services

    def overview():
        counts = selectors.event_counts(filters, set(selectors.COUNTED_TYPES))
        traffic = selectors.traffic(filters, counts)
        return traffic, selectors.conversions(filters, traffic, counts)

    queries = {
        "overview": overview,
        "timeseries": lambda: selectors.series(filters),
        "breakdowns": lambda: selectors.breakdowns(filters),
        "top_pages": lambda: selectors.top_pages(filters),
        "funnel": lambda: selectors.funnel(filters),
        "vitals": lambda: services.vitals_panel(filters),
        "activity": lambda: services.recent_activity(filters.segment, timezone.now()),
        "live (db)": lambda: live.figures(filters.segment, timezone.now()),
        "tickets+revenue": lambda: (services.tickets_panel(), services.revenue_panel(filters)),
    }
    return queries


def api_call(params: dict[str, str]):
    from rest_framework.test import APIRequestFactory, force_authenticate

    from analytics.dashboard.api import DashboardView
    from tests.factories import StaffFactory

    staff = StaffFactory(username=f"bench-staff-{time.time_ns()}")
    view = DashboardView.as_view()
    factory = APIRequestFactory()

    def call():
        request = factory.get("/api/v1/analytics/dashboard/", params)
        force_authenticate(request, user=staff)
        response = view(request)
        response.render()
        assert response.status_code == 200, response.content[:300]
        return response

    return call


def measure(work, repeat: int) -> list[float]:
    work()  # warm-up (plans, caches)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return times


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--days", type=int, default=60, help="the events span this many days up to now")
    parser.add_argument("--repeat", type=int, default=20, help="timed runs per query (after one warm-up)")
    parser.add_argument("--raw-repeat", type=int, default=5, help="timed runs per raw query")
    parser.add_argument("--database", default=own_database("bench_dashboard"))
    parser.add_argument("--reuse", action="store_true", help="keep the database loaded by a previous run")
    parser.add_argument("--rebuild", action="store_true", help="with --reuse: build the rollups again")
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL"),
        help="Redis for the live counters ('' = read them from the database; default: a private one)",
    )
    parser.add_argument("--smoke", action="store_true", help="seconds: 5,000 events, 3 days, 2 runs")
    parser.add_argument(
        "--load-only", action="store_true", help="load the raw events, stop before the rollups"
    )
    args = parser.parse_args()
    if args.smoke:
        args.events, args.days, args.repeat, args.raw_repeat, args.reuse = 5_000, 3, 2, 1, False
    private_redis = None
    if args.redis_url is None:
        from benchmarks.faults.harness import PrivateRedis

        private_redis = PrivateRedis().start()
        args.redis_url = private_redis.url
    try:
        return run(args)
    finally:
        if private_redis is not None:
            private_redis.stop()


def run(args) -> int:
    checks = Checks("bench-dashboard" + (" --smoke" if args.smoke else ""))
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/test")
    url = bench_url(base, args.database)
    now = datetime.now(UTC)
    if not args.reuse:
        recreate_database(base, args.database)
    setup_django(url, args.redis_url)
    from django.core.management import call_command

    from analytics.dashboard.serializers import parse_filters
    from analytics.models import (
        DailyEventRollup,
        DailyEventSlice,
        DailySessionRollup,
        DailySessionSlice,
        Event,
        EventRollup,
        SessionRollup,
    )

    if not args.reuse:
        # The raw tables only (analytics 0001); the rollups are (re)built below, after every migration.
        call_command("migrate", "analytics", "0001_initial", verbosity=0, interactive=False)
        print(f"Loading {args.events:,} events over {args.days} days into {args.database} (COPY) …")
        sessions, events, seconds = load(url, args.events, args.days, now)
        print(f"  {events:,} events and {sessions:,} sessions in {seconds:.0f} s")
    if args.load_only:
        return 0
    call_command("migrate", verbosity=0, interactive=False)
    if not args.reuse or args.rebuild or not DailySessionSlice.objects.exists():
        first = Event.objects.order_by("occurred_at").values_list("occurred_at", flat=True).first()
        seconds = build_rollups(url, now, (now - first).days + 1 if first else args.days)
        print(f"  rollups built in {seconds:.0f} s")
    print(
        f"rows: events {Event.objects.count():,} · hourly event rollup {EventRollup.objects.count():,} · "
        f"hourly session rollup {SessionRollup.objects.count():,} · daily event rollup "
        f"{DailyEventRollup.objects.count():,} · daily session rollup "
        f"{DailySessionRollup.objects.count():,} · "
        f"daily event slices {DailyEventSlice.objects.count():,} · daily session slices "
        f"{DailySessionSlice.objects.count():,}"
    )
    print(
        f"live counters: {'Redis' if args.redis_url else 'database'}; load average {os.getloadavg()[0]:.1f}"
    )

    scenarios = [
        ("30d", {"range": "30d"}),
        ("30d mobile", {"range": "30d", "device_type": "mobile"}),
        ("today", {"range": "today"}),
    ]
    results = []
    for label, params in scenarios:
        filters = parse_filters(params)
        rollups, raws = rollup_queries(filters), raw_queries(filters)
        for name, work in rollups.items():
            times = measure(work, args.repeat)
            raw_times = measure(raws[name], args.raw_repeat) if name in raws else None
            results.append((label, name, times, raw_times))
        results.append((label, "API (whole document)", measure(api_call(params), args.repeat), None))

    print()
    columns = ("p50 ms", "p95 ms", "raw p50", "raw p95", "raw/rollup")
    header = f"{'range':<11} {'query':<22} " + " ".join(
        f"{c:>{w}}" for c, w in zip(columns, (8, 8, 9, 9, 10), strict=True)
    )
    print(header)
    print("-" * len(header))
    worst = 0.0
    for label, name, times, raw_times in results:
        p50, p95 = statistics.median(times), p(times, 0.95)
        worst = max(worst, p95)
        if raw_times:
            raw50, raw95 = statistics.median(raw_times), p(raw_times, 0.95)
            ratio = f"{raw50 / p50:>9.0f}x" if p50 else "-"
            print(f"{label:<11} {name:<22} {p50:>8.1f} {p95:>8.1f} {raw50:>9.1f} {raw95:>9.1f} {ratio:>10}")
        else:
            print(f"{label:<11} {name:<22} {p50:>8.1f} {p95:>8.1f} {'':>9} {'':>9} {'':>10}")
    print()
    verdict = "yes" if worst < BUDGET_MS else "NO"
    print(
        f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
        "(other work on the machine)"
    )
    print(
        f"every p95 < {BUDGET_MS:.0f} ms: {verdict} (worst p95 {worst:.1f} ms; {args.repeat} runs per query, "
        f"{args.raw_repeat} per raw query; {os.cpu_count()} CPUs)"
    )
    checks.require(Event.objects.count() > 0, "no event was loaded")
    checks.require(DailySessionSlice.objects.exists(), "the rollups were not built")
    checks.require(len(results) >= 3 * 2, f"only {len(results)} queries were timed")
    return checks.exit_status()


if __name__ == "__main__":
    sys.exit(main())
