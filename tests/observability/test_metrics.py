"""/metrics: Prometheus text format, staff and scraper only, with the series the issue names."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from notifications.models import Message, MessageStatus
from repairs.realtime import stats
from revivatech.observability.sockets import SocketObservabilityMiddleware
from revivatech.routing import websocket_urlpatterns
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

TOKEN = "metrics-scraper-token-for-tests-0123456789"


def scrape(client) -> dict[str, list]:
    response = client.get("/metrics")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    families = {}
    for family in text_string_to_metric_families(response.content.decode()):
        families[family.name] = family.samples
    return families


def value(families, name: str, sample_name: str | None = None, **labels) -> float:
    matches = [
        sample.value
        for sample in families.get(name, [])
        if (sample_name is None or sample.name == sample_name)
        and all(sample.labels.get(k) == v for k, v in labels.items())
    ]
    assert len(matches) == 1, (name, labels, families.get(name))
    return matches[0]


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.mark.parametrize("who", ["anonymous", "customer", "technician"])
def test_metrics_are_refused_to_everyone_but_staff_and_the_scraper(
    client, customer, technician, who, settings
):
    settings.METRICS_TOKEN = TOKEN
    if who == "customer":
        client.force_login(customer.user)
    elif who == "technician":
        client.force_login(technician)
    response = client.get("/metrics")
    assert response.status_code == 403
    assert response.json() == {"detail": "You do not have permission to read the metrics.", "errors": {}}
    assert b"revivatech_" not in response.content


def test_staff_and_a_bearer_token_may_read(client, staff_user, settings):
    settings.METRICS_TOKEN = TOKEN
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong-token").status_code == 403
    settings.METRICS_TOKEN = ""  # no token configured: a bearer header grants nothing
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403
    client.force_login(staff_user)
    assert client.get("/metrics").status_code == 200


def test_loopback_access_only_when_configured(client, settings):
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403
    settings.METRICS_ALLOW_LOOPBACK = True
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 403


def test_request_counts_and_latency_are_labelled_by_url_name(staff_client, ticket):
    before = scrape(staff_client)
    for _ in range(3):
        assert staff_client.get("/healthz").status_code == 200
    staff_client.get(f"/track/{ticket.tracking_token}/")
    staff_client.get("/no-such-page/")
    after = scrape(staff_client)

    def requests(families, **labels):
        try:
            return value(families, "revivatech_http_requests", "revivatech_http_requests_total", **labels)
        except AssertionError:
            return 0.0

    assert (
        requests(after, method="GET", route="healthz", status="200")
        - requests(before, method="GET", route="healthz", status="200")
        == 3
    )
    assert requests(after, route="track", status="200") >= 1
    assert requests(after, route="<unmatched>", status="404") >= 1
    # No raw paths (tokens, references) as labels: bounded cardinality.
    text = json.dumps([s.labels for samples in after.values() for s in samples])
    assert ticket.tracking_token not in text and "/track/" not in text
    count = value(
        after, "revivatech_http_request_duration_seconds", "revivatech_http_request_duration_seconds_count",
        route="healthz",
    )  # fmt: skip
    assert count >= 3
    inf_bucket = value(
        after, "revivatech_http_request_duration_seconds", "revivatech_http_request_duration_seconds_bucket",
        route="healthz", le="+Inf",
    )  # fmt: skip
    assert inf_bucket == count


def test_notification_outbox_rows_by_status_are_counted_at_scrape_time(staff_client, ticket):
    families = scrape(staff_client)
    expected = {status: Message.objects.filter(status=status).count() for status in MessageStatus.values}
    for status, n in expected.items():
        assert value(families, "revivatech_notification_messages", status=status) == n
    if expected[MessageStatus.QUEUED]:
        Message.objects.filter(status=MessageStatus.QUEUED).update(status=MessageStatus.DEAD)
        again = scrape(staff_client)
        assert value(again, "revivatech_notification_messages", status="dead") == (
            expected["dead"] + expected["queued"]
        )
    assert "revivatech_payment_webhook_events" in families


def test_celery_queue_lengths(staff_client):
    families = scrape(staff_client)
    for queue in settings.METRICS_CELERY_QUEUES:
        assert value(families, "revivatech_celery_queue_length", queue=queue) >= 0
    assert value(families, "revivatech_celery_broker_up") == 1
    if settings.CELERY_TASK_ALWAYS_EAGER:
        assert all(
            value(families, "revivatech_celery_queue_length", queue=q) == 0
            for q in settings.METRICS_CELERY_QUEUES
        )


@pytest.mark.redis
def test_celery_queue_length_reads_the_redis_list(staff_client):
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")
    from revivatech.celery import app

    from . import tasks

    queue = "notifications.bulk"
    client = app.connection_for_write().default_channel.client
    client.delete(queue)
    try:
        for _ in range(3):
            tasks.log_context.apply_async(args=["queued"], queue=queue)
        families = scrape(staff_client)
        assert value(families, "revivatech_celery_queue_length", queue=queue) == 3
    finally:
        client.delete(queue)  # nobody else uses this Redis database; no worker reads it


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_open_websockets_are_exported(transactional_db):
    stats.reset()
    staff = await sync_to_async(StaffFactory)()
    communicator = WebsocketCommunicator(
        SocketObservabilityMiddleware(URLRouter(websocket_urlpatterns)), "/ws/staff/"
    )
    communicator.scope["user"] = staff

    def scrape_as_staff():
        client = Client()
        client.force_login(staff)
        return scrape(client)

    before = await sync_to_async(scrape_as_staff)()
    open_before = sum(  # absent until this process's first staff socket
        s.value
        for s in before.get("revivatech_websocket_connections_open", [])
        if s.labels["route"] == "ws/staff"
    )
    connected, _ = await communicator.connect()
    assert connected
    await communicator.receive_from(timeout=3)  # the snapshot
    during = await sync_to_async(scrape_as_staff)()
    await communicator.disconnect()
    after = await sync_to_async(scrape_as_staff)()
    stats.reset()

    assert value(during, "revivatech_websocket_connections_open", route="ws/staff") == open_before + 1
    assert value(after, "revivatech_websocket_connections_open", route="ws/staff") == open_before
    assert value(during, "revivatech_realtime_connections", role="staff") == 1
    accepted = "revivatech_websocket_connections_total"
    assert (
        value(during, "revivatech_websocket_connections", accepted, route="ws/staff", outcome="accepted") >= 1
    )
