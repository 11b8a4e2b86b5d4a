"""The lean ASGI route for POST /api/v1/events/ (analytics.asgi) in front of Django."""

from __future__ import annotations

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.db import connection

from analytics.asgi import with_event_ingestion
from analytics.models import Event
from tests.analytics.factories import CHROME_DESKTOP, batch, event

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def call(app, method: str, path: str, body: bytes = b"", headers=None, chunks: int = 1):
    """One HTTP exchange with an ASGI app; returns (status, headers, body)."""
    headers = [(b"user-agent", CHROME_DESKTOP.encode()), *(headers or [])]
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": headers,
        "client": ("203.0.113.40", 50000), "server": ("testserver", 80),
    }  # fmt: skip
    size = max(1, len(body) // chunks + 1)
    parts = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    messages = [
        {"type": "http.request", "body": part, "more_body": i < len(parts) - 1}
        for i, part in enumerate(parts)
    ]
    sent = []

    async def receive():
        if messages:
            return messages.pop(0)
        await asyncio.Event().wait()  # the client stays connected until the answer is sent

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], dict(start["headers"]), content


@pytest.fixture
def app():
    return with_event_ingestion(ASGIHandler())


def _in_a_thread(work):
    """ORM work from an async test, in a worker thread that closes its connection afterwards."""

    def run():
        try:
            return work()
        finally:
            connection.close()

    return sync_to_async(run, thread_sensitive=False)()


async def test_the_lean_route_ingests_like_the_view(app, flushed):
    body = json.dumps(batch(event("pageview", "/book/"), event("scroll", "/book/", depth=7))).encode()
    status, headers, content = await call(app, "POST", "/api/v1/events/", body)
    assert status == 202 and headers[b"content-type"] == b"application/json"
    answer = json.loads(content)
    assert (answer["accepted"], answer["rejected"]) == (1, 1)
    assert answer["errors"] == {"events[1].depth": ["Must be one of: 25, 50, 75, 100."]}
    await _in_a_thread(flushed)
    assert await _in_a_thread(lambda: list(Event.objects.values_list("path", flat=True))) == ["/book/"]


async def test_oversized_bodies_are_refused_before_they_are_read(app, settings):
    settings.ANALYTICS_MAX_BODY_BYTES = 100
    body = json.dumps(batch(*[event("pageview", "/")] * 5)).encode()
    declared = [(b"content-length", str(len(body)).encode())]
    status, _, content = await call(app, "POST", "/api/v1/events/", body, headers=declared)
    assert status == 413 and "100 bytes" in json.loads(content)["detail"]
    status, _, _ = await call(app, "POST", "/api/v1/events/", body, chunks=4)  # no length given
    assert status == 413


async def test_bad_json_and_bots_answer_as_the_view_does(app):
    status, _, content = await call(app, "POST", "/api/v1/events/", b"{oops")
    assert status == 400 and json.loads(content)["detail"].startswith("The body is not valid JSON")
    status, _, content = await call(
        app, "POST", "/api/v1/events/", json.dumps(batch(event("pageview", "/"))).encode(),
        headers=[(b"user-agent", b"curl/8.5.0")],
    )  # fmt: skip
    assert status == 202 and json.loads(content)["accepted"] == 0


async def test_everything_else_goes_to_django(app):
    status, _, content = await call(app, "GET", "/api/v1/events/")
    assert status == 405 and json.loads(content)["detail"] == 'Method "GET" not allowed.'
    status, _, _ = await call(app, "GET", "/healthz")
    assert status == 200


@pytest.mark.redis
async def test_the_rate_limit_uses_one_redis_connection_pool_per_process(app, settings, monkeypatch):
    """Under ASGI Django builds its cache backend per request, each with a new pool: counting the
    rate limits through it opened a Redis connection per batch. Batches sent concurrently (each in
    its own task and context, as uvicorn runs them) now share the process's client."""
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")
    import redis
    from django.core.cache import caches

    from revivatech import redis_clients

    settings.CACHES = {
        "default": {"BACKEND": "revivatech.cache.SharedRedisCache", "LOCATION": settings.REDIS_URL}
    }
    settings.ANALYTICS_RATE_LIMIT_IP_PER_MINUTE = settings.ANALYTICS_RATE_LIMIT_VISITOR_PER_MINUTE = 1000
    redis_clients.reset()
    pools = []
    built = redis.ConnectionPool.__init__

    def counted(self, *args, **kwargs):
        pools.append(self)
        built(self, *args, **kwargs)

    monkeypatch.setattr(redis.ConnectionPool, "__init__", counted)
    body = json.dumps(batch(event("pageview", "/"))).encode()

    async def wave(size: int) -> list[int]:
        answers = await asyncio.gather(*(call(app, "POST", "/api/v1/events/", body) for _ in range(size)))
        return [status for status, _, _ in answers]

    assert await wave(20) == [202] * 20
    warm = len(pools)
    assert warm <= 2  # the rate limit's client and the buffer's, not one per batch
    assert await wave(20) == [202] * 20
    assert len(pools) == warm  # the same pools served 20 more batches

    counters = redis_clients.sync_client(settings.REDIS_URL, redis_clients.PROBE)
    pattern = caches["default"].make_key("analytics:rl:ip:*")
    assert sum(int(counters.get(key)) for key in counters.keys(pattern)) == 40  # all counted in Redis
