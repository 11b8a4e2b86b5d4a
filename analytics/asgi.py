"""A lean ASGI route for ``POST /api/v1/events/``, in front of Django.

Through Django's full middleware stack (sessions, CSRF, auth, messages…, each adapted between
async and sync) a beacon costs several thread hops for nothing it needs; this route reads the
body (size-capped), builds the same :class:`~django.core.handlers.asgi.ASGIRequest` Django would,
and calls the same service (:func:`analytics.services.ingestion.ingest_request`) in one worker
thread. Everything else, including other methods on that path, goes to Django, where the DRF
view (``analytics.api.EventIngestView``) answers the same way. Wire it in ``revivatech/asgi.py``::

    "http": with_event_ingestion(http_app or django_asgi_app)
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import close_old_connections

from .services.ingestion import IngestResult, ingest_request

logger = logging.getLogger(__name__)

EVENTS_PATH = "/api/v1/events/"
ASGIApp = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Awaitable[None]]


def _ingest(request: ASGIRequest, body: bytes) -> IngestResult:
    """The service in a worker thread, with Django's per-request connection hygiene."""
    close_old_connections()
    try:
        return ingest_request(request, body)
    finally:
        close_old_connections()


_ingest_async = sync_to_async(_ingest, thread_sensitive=False)


async def _respond(send, status: int, body: dict[str, Any], retry_after: int | None = None) -> None:
    payload = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"cache-control", b"no-store"),
    ]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def ingest_events(scope: dict, receive, send) -> None:
    """``POST /api/v1/events/`` without Django's middleware stack."""
    limit = settings.ANALYTICS_MAX_BODY_BYTES
    declared = dict(scope.get("headers") or []).get(b"content-length")
    too_large = {"detail": f"The batch is larger than {limit} bytes, the limit.", "errors": {}}
    if declared is not None and declared.isdigit() and int(declared) > limit:
        await _respond(send, 413, too_large)
        return
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            await _respond(send, 413, too_large)
            return
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    body = b"".join(chunks)
    try:
        request = ASGIRequest(scope, io.BytesIO(body))
        result = await _ingest_async(request, body)
    except Exception:  # answer like Django's JSON 500, never a traceback
        logger.exception("analytics: ingestion failed")
        await _respond(
            send, 500, {"detail": "Internal server error. The problem has been logged.", "errors": {}}
        )
        return
    await _respond(send, result.status, result.as_json(), result.retry_after)


def with_event_ingestion(app: ASGIApp) -> ASGIApp:
    """``app`` with ``POST /api/v1/events/`` answered by :func:`ingest_events`."""

    async def router(scope: dict, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == EVENTS_PATH:
            await ingest_events(scope, receive, send)
            return
        await app(scope, receive, send)

    return router
