"""Prometheus metrics (prometheus_client): request counts and latencies, socket connections,
and figures read at scrape time (Celery queue depths, notification outbox, payment webhooks).

With several web processes, set ``PROMETHEUS_MULTIPROC_DIR`` (an empty directory, wiped at each
deploy) before the processes start: counters and histograms then live in shared files and one
scrape of any process returns the sum of all (prometheus_client's multiprocess mode). Without
it each process exports its own figures.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

logger = logging.getLogger(__name__)

_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

HTTP_REQUESTS = Counter(
    "revivatech_http_requests",
    "HTTP requests answered by Django, by method, URL name and status.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "revivatech_http_request_duration_seconds",
    "Time from the first middleware to the response, by URL name.",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
SOCKETS_OPEN = Gauge(
    "revivatech_websocket_connections_open",
    "WebSocket connections open now, by route.",
    ["route"],
    multiprocess_mode="livesum",
)
SOCKETS_TOTAL = Counter(
    "revivatech_websocket_connections",
    "WebSocket connections, by route and outcome (accepted, refused).",
    ["route", "outcome"],
)
RATE_LIMIT_FAIL_OPEN = Counter(
    "revivatech_rate_limit_fail_open",
    "Requests let through unchecked because the rate-limit store (the cache, Redis) failed, by scope.",
    ["scope"],
)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    method = method if method in _METHODS else "OTHER"
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_LATENCY.labels(route).observe(seconds)


# --- read at scrape time -------------------------------------------------------------------------

#: kombu's Redis transport keeps messages with a priority in lists named queue + sep + step.
_PRIORITY_SEP = "\x06\x16"
_PRIORITY_STEPS = (3, 6, 9)


class CeleryQueueCollector:
    """Length of each Celery queue's Redis list (0 on the in-process eager mode)."""

    def collect(self) -> Iterable[Metric]:
        from django.conf import settings

        depth = GaugeMetricFamily(
            "revivatech_celery_queue_length", "Messages waiting in a Celery queue.", labels=["queue"]
        )
        up = GaugeMetricFamily("revivatech_celery_broker_up", "1 when the broker answered this scrape.")
        queues = settings.METRICS_CELERY_QUEUES
        broker = settings.CELERY_BROKER_URL or ""
        if settings.CELERY_TASK_ALWAYS_EAGER or not broker.startswith(("redis://", "rediss://")):
            for queue in queues:
                depth.add_metric([queue], 0)
            up.add_metric([], 1)
            return [depth, up]
        from revivatech import redis_clients

        try:
            with redis_clients.sync_client(broker, redis_clients.PROBE).pipeline(transaction=False) as pipe:
                for queue in queues:
                    pipe.llen(queue)
                    for step in _PRIORITY_STEPS:
                        pipe.llen(f"{queue}{_PRIORITY_SEP}{step}")
                lengths = pipe.execute()
        except Exception as exc:  # a scrape must answer even while Redis is down
            logger.warning("metrics: Celery broker unreachable: %s", exc)
            up.add_metric([], 0)
            return [up]
        per_queue = 1 + len(_PRIORITY_STEPS)
        for index, queue in enumerate(queues):
            depth.add_metric([queue], sum(lengths[index * per_queue : (index + 1) * per_queue]))
        up.add_metric([], 1)
        return [depth, up]


class DatabaseCollector:
    """Outbox rows by status and payment webhook events by provider and status (COUNT … GROUP BY)."""

    def collect(self) -> Iterable[Metric]:
        from django.db.models import Count

        families = []
        try:
            from notifications.models import Message, MessageStatus

            outbox = GaugeMetricFamily(
                "revivatech_notification_messages", "Notification outbox rows by status.", labels=["status"]
            )
            counts = dict.fromkeys(MessageStatus.values, 0)
            for row in Message.objects.order_by().values("status").annotate(n=Count("id")):
                counts[row["status"]] = row["n"]
            for status, n in counts.items():
                outbox.add_metric([status], n)
            families.append(outbox)

            from payments.models import ProviderEvent

            webhooks = GaugeMetricFamily(
                "revivatech_payment_webhook_events",
                "Stored payment provider webhook events by provider and status.",
                labels=["provider", "status"],
            )
            for row in ProviderEvent.objects.order_by().values("provider", "status").annotate(n=Count("id")):
                webhooks.add_metric([row["provider"], row["status"]], row["n"])
            families.append(webhooks)
        except Exception as exc:  # the database may be down: report what we have
            logger.warning("metrics: database figures unavailable: %s", exc)
        return families


class RealtimeCollector:
    """Live sockets by role from the repairs app's connection statistics (shared via Redis)."""

    def collect(self) -> Iterable[Metric]:
        try:
            from repairs.realtime import stats

            snapshot = stats.snapshot()
        except Exception as exc:
            logger.warning("metrics: realtime statistics unavailable: %s", exc)
            return []
        by_role = GaugeMetricFamily(
            "revivatech_realtime_connections",
            "Open WebSocket connections by role (all web processes when REDIS_URL is set).",
            labels=["role"],
        )
        for role in ("customer", "technician", "staff"):
            by_role.add_metric([role], snapshot["by_role"].get(role, 0))
        sent = GaugeMetricFamily(
            "revivatech_realtime_messages_sent", "WebSocket messages sent since the statistics were reset."
        )
        sent.add_metric([], snapshot["messages_sent"])
        return [by_role, sent]


class _ProcessRegistry:
    """This process's own metrics (default registry), when not in multiprocess mode."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


SCRAPE_COLLECTORS = (CeleryQueueCollector, DatabaseCollector, RealtimeCollector)


def render() -> bytes:
    """The text exposition of every metric, as one scrape."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ProcessRegistry())
    for collector in SCRAPE_COLLECTORS:
        registry.register(collector())
    return generate_latest(registry)
