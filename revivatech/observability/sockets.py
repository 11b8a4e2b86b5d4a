"""WebSocket logging and metrics.

:class:`SocketObservabilityMiddleware` wraps the WebSocket router (inside the auth middleware, so
the user is known): each connection gets its own ``connection_id``, bound for every line logged
while it is served, plus the handshake's ``X-Request-ID`` as ``request_id`` when the client sent
a well-formed one. It logs ``socket_connected`` / ``socket_refused`` / ``socket_disconnected``
(code, duration) and, at DEBUG, each client frame; it keeps the open-connection gauge.

:func:`delivering` is used by the consumers around each channel-layer message: a live ticket
event carries, in its envelope's ``meta`` (never sent to clients), the ``request_id`` of the
HTTP request (or task) that caused it, so the ``socket_event_received`` line (once per process)
and the ``socket_event_delivered`` lines (per socket, at DEBUG) tie it back to that request.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Iterator
from typing import Any

import structlog

from . import metrics
from .context import valid_request_id

logger = structlog.get_logger("revivatech.sockets")


def route_label(path: str) -> str:
    """``/ws/repairs/RT-AB12/`` -> ``ws/repairs``: the route without its identifiers."""
    parts = [part for part in path.split("/") if part]
    return "/".join(parts[:2]) if parts else "/"


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


class SocketObservabilityMiddleware:
    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return await self.app(scope, receive, send)
        route = route_label(scope.get("path", ""))
        user = scope.get("user")
        context: dict[str, Any] = {
            "connection_id": uuid.uuid4().hex,
            "socket_route": route,
            "user_id": user.pk if user is not None and getattr(user, "is_authenticated", False) else None,
        }
        handshake_id = _header(scope, b"x-request-id")
        if valid_request_id(handshake_id):
            context["request_id"] = handshake_id
        # A refused socket is accepted and closed with 4403 before any data: a socket counts as
        # connected once it has been sent its first frame.
        state = {"open": False, "connected": False, "closed": False, "opened_at": 0.0}

        def connected() -> None:
            state["connected"] = True
            metrics.SOCKETS_TOTAL.labels(route, "accepted").inc()
            logger.info("socket_connected", path=scope.get("path"))

        def closed(code: int | None, by: str) -> None:
            if state["closed"]:
                return
            state["closed"] = True
            if state["open"]:
                metrics.SOCKETS_OPEN.labels(route).dec()
            if state["connected"]:
                duration_ms = round((time.monotonic() - state["opened_at"]) * 1000, 1)
                logger.info("socket_disconnected", code=code, closed_by=by, duration_ms=duration_ms)
            else:
                metrics.SOCKETS_TOTAL.labels(route, "refused").inc()
                logger.info("socket_refused", code=code, path=scope.get("path"))

        async def observed_send(message):
            kind = message.get("type")
            if kind == "websocket.accept":
                state["open"], state["opened_at"] = True, time.monotonic()
                metrics.SOCKETS_OPEN.labels(route).inc()
            elif kind == "websocket.send" and not state["connected"]:
                connected()
            elif kind == "websocket.close":
                closed(message.get("code", 1000), "server")
            return await send(message)

        async def observed_receive():
            message = await receive()
            kind = message.get("type")
            if kind == "websocket.disconnect":
                closed(message.get("code"), "client")
            elif kind == "websocket.receive" and logger.isEnabledFor(logging.DEBUG):
                size = len(message.get("text") or message.get("bytes") or "")
                logger.debug("socket_message_received", size=size)
            return message

        with structlog.contextvars.bound_contextvars(**context):
            try:
                return await self.app(scope, observed_receive, observed_send)
            finally:
                if state["open"] or state["connected"]:
                    closed(None, "server")


#: Live events this process has logged once (oldest dropped first).
ANNOUNCED_KEPT = 1024
_announced: dict[tuple, None] = {}


@contextlib.contextmanager
def delivering(message: dict[str, Any]) -> Iterator[None]:
    """Around a consumer's handling of one channel-layer message (see module docstring).

    A live event is logged once per process at INFO (``socket_event_received``, with the
    ``request_id`` that caused it) and once per socket at DEBUG (``socket_event_delivered``, with
    the socket's ``connection_id``): a ticket followed by hundreds of sockets is one line per
    process, and the per-socket lines cost nothing unless asked for (``LOG_LEVEL_SOCKETS=DEBUG``).
    """
    if message.get("type") != "ticket.event":
        yield
        return
    meta = message.get("meta") or {}
    fields = {"reference": message.get("reference"), "seq": message.get("seq"), "kind": message.get("kind")}
    key = (fields["reference"], fields["seq"], message.get("published_at"))
    first = key not in _announced
    debug = logger.isEnabledFor(logging.DEBUG)
    if not (first or debug):
        yield  # the common case, kept cheap: binding context variables costs more than a delivery
        return
    # While logging, request_id is the request that caused the event (not the handshake's).
    bind = {"request_id": meta["request_id"]} if meta.get("request_id") else {}
    with structlog.contextvars.bound_contextvars(**bind):
        if first:
            _announced[key] = None
            while len(_announced) > ANNOUNCED_KEPT:
                del _announced[next(iter(_announced))]
            logger.info("socket_event_received", **fields)
        if debug:
            logger.debug("socket_event_delivered", **fields)
        yield
