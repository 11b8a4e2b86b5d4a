"""Ingestion of tracker batches (``POST /api/v1/events/``) and of server-side events.

The hot path makes no database query per event (and none at all once the day's salt is cached):
size check, Do-Not-Track, bot filter, identity (a keyed hash), rate limits (cache), JSON decode,
validation, user agent (cached) and country (in-memory GeoIP), then one append to the buffer:
a Redis stream entry, or one bulk insert in direct mode (see :mod:`.buffer`).

A batch travels as ``{"ctx": {...}, "ev": [[type, occurred_ms, path, props], ...]}`` where ``ctx``
holds what all its events share: visitor key (and yesterday's, near midnight), consented device id
and signals, customer id (server events), device type, browser, OS, country.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.http import HttpRequest
from django.utils import timezone

from revivatech import jsonsafe, redis_clients
from revivatech.request_info import client_ip

from ..models import EventType
from . import buffer
from .identity import Identity, identity_from_request, keyed_hash, salt_for, utc_day
from .request_info import asks_not_to_be_tracked, country_for, parse_user_agent
from .validation import BatchError, validate_batch

logger = logging.getLogger(__name__)


@dataclass
class IngestResult:
    status: int
    detail: str
    accepted: int = 0
    rejected: int = 0
    errors: dict[str, list[str]] = field(default_factory=dict)
    retry_after: int | None = None

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"detail": self.detail, "errors": self.errors}
        if self.status < 300 or self.rejected:
            body.update(accepted=self.accepted, rejected=self.rejected)
        return body


def _count_requests(keys: list[str], now: datetime) -> tuple[list[int], int]:
    """Requests counted this minute for each key, and seconds until the next minute. Through the
    Django cache (local memory by default); on Redis, one pipelined round trip for all keys."""
    seconds = int(now.timestamp())
    cache_keys = [f"analytics:rl:{key}:{seconds // 60}" for key in keys]
    retry_after = 60 - seconds % 60
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        # Not the backend's own client: under ASGI Django builds the cache backend per request
        # (per async context), each with a new connection pool, so every batch opened a new Redis
        # connection. The process's client for the cache's (first, written) server instead.
        client = redis_clients.sync_client(backend._servers[0], redis_clients.RATE_LIMIT)
        pipe = client.pipeline(transaction=False)
        for key in cache_keys:
            full_key = backend.make_and_validate_key(key)
            pipe.set(full_key, 0, ex=120, nx=True)
            pipe.incr(full_key)
        return [int(count) for count in pipe.execute()[1::2]], retry_after
    counts = []
    for key in cache_keys:
        try:
            counts.append(cache.incr(key))
        except ValueError:  # first request of the window
            counts.append(1 if cache.add(key, 1, timeout=120) else cache.incr(key))
    return counts, retry_after


def _rate_limited(ip: str, identity: Identity, now: datetime) -> IngestResult | None:
    checks = []
    if (
        settings.ANALYTICS_RATE_LIMIT_IP_PER_MINUTE > 0
    ):  # the IP is never a key: its hash with the day's salt is
        ip_key = "ip:" + keyed_hash(salt_for(utc_day(now), create=True), ip, "").hex
        checks.append((ip_key, settings.ANALYTICS_RATE_LIMIT_IP_PER_MINUTE, "this address"))
    if settings.ANALYTICS_RATE_LIMIT_VISITOR_PER_MINUTE > 0:
        visitor_key = "v:" + (identity.device_id or identity.visitor_key).hex
        checks.append((visitor_key, settings.ANALYTICS_RATE_LIMIT_VISITOR_PER_MINUTE, "this visitor"))
    if not checks:
        return None
    try:
        counts, retry_after = _count_requests([key for key, _, _ in checks], now)
    except Exception as exc:  # the cache is down: count nothing rather than refuse everyone
        logger.warning("analytics: rate limits skipped, the cache is unavailable (%s)", exc)
        return None
    for (_key, limit, who), count in zip(checks, counts, strict=True):
        if count > limit:
            return IngestResult(
                status=429,
                detail=f"Too many requests from {who}: at most {limit} per minute. "
                f"Try again in {retry_after} seconds.",
                retry_after=retry_after,
            )
    return None


def ingest_request(request: HttpRequest, body: bytes, now: datetime | None = None) -> IngestResult:
    """Validate and buffer one tracker batch; the result says what was kept and what was not."""
    now = now or timezone.now()
    meta = request.META
    if len(body) > settings.ANALYTICS_MAX_BODY_BYTES:
        return IngestResult(
            413,
            f"The batch is {len(body)} bytes; the limit is {settings.ANALYTICS_MAX_BODY_BYTES} bytes.",
        )
    if asks_not_to_be_tracked(meta):
        return IngestResult(
            202, "Ignored: the browser asks not to be tracked (Do Not Track / Global Privacy Control)."
        )
    agent = parse_user_agent(str(meta.get("HTTP_USER_AGENT", "")))
    if agent.is_bot:
        return IngestResult(202, "Ignored: automated clients (bots, crawlers, scripts) are not counted.")
    identity = identity_from_request(request, now)
    ip = client_ip(meta)
    limited = _rate_limited(ip, identity, now)
    if limited is not None:
        return limited
    try:
        decoded = jsonsafe.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        return IngestResult(400, f"The body is not valid JSON: {exc}.", errors={"": ["Send a JSON object."]})
    try:
        batch = validate_batch(decoded, now)
    except BatchError as exc:
        return IngestResult(exc.status, exc.message, errors=exc.errors)
    if not batch.events:
        first = next(iter(batch.errors.items()))
        return IngestResult(
            400,
            f"Invalid input. No event in the batch is valid; {first[0]}: {first[1][0]}",
            rejected=batch.rejected,
            errors=batch.errors,
        )
    ctx = {
        "vk": identity.visitor_key.hex,
        "pvk": identity.previous_visitor_key.hex if identity.previous_visitor_key else None,
        "did": identity.device_id.hex if identity.device_id else None,
        "cid": None,
        "dt": agent.device_type,
        "br": agent.browser,
        "os": agent.os,
        "cc": country_for(ip, meta),
        # Richer signals only with consent, whatever the client sent.
        "dev": batch.device if identity.consent and identity.device_id else None,
    }
    # A fifth element marks a page of the site (1) or an unknown path (0, capped per day in storage).
    buffer.enqueue(
        {
            "ctx": ctx,
            "ev": [[e.type, e.occurred_at_ms, e.path, e.props, int(e.known_path)] for e in batch.events],
        }
    )
    accepted = len(batch.events)
    if batch.rejected:
        detail = f"Stored {accepted} events; refused {batch.rejected} (see errors)."
    else:
        detail = f"Stored {accepted} events."
    return IngestResult(202, detail, accepted=accepted, rejected=batch.rejected, errors=batch.errors)


def record_server_event(
    event_type: EventType,
    *,
    customer_id: int | None,
    occurred_at: datetime,
    props: dict[str, Any] | None = None,
    identity: Identity | None = None,
    path: str = "",
) -> None:
    """An event the server knows happened (a booking, a quote decision, a payment): linked to the
    customer, and to the browser's visit when the request came from that customer's browser."""
    ctx = {
        "vk": identity.visitor_key.hex if identity and identity.visitor_key else None,
        "pvk": identity.previous_visitor_key.hex if identity and identity.previous_visitor_key else None,
        "did": identity.device_id.hex if identity and identity.device_id else None,
        "cid": customer_id,
        "dt": "",
        "br": "",
        "os": "",
        "cc": "",
        "dev": None,
    }
    occurred_ms = int(occurred_at.timestamp() * 1000)
    buffer.enqueue(
        {"ctx": ctx, "ev": [[int(event_type), occurred_ms, path, {**(props or {}), "server": True}]]}
    )
