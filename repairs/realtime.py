"""Live repair tracking: who hears which event, what a customer may see, connection statistics.

The broadcaster subscribes to the domain event bus and fans each ticket event out over the
channel layer after commit. Sockets are only a delivery path: every message carries the
ticket's sequence number, and a client that missed any replays them from the database.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.urls import reverse

from revivatech.events import ALL_EVENTS, DomainEvent, subscribe

from .models import EventKind, TicketEvent
from .photos import planned_widths
from .presenters import STATUS_SENTENCES, describe_event

logger = logging.getLogger(__name__)

STAFF_GROUP = "rt.staff"

# Payload keys a customer may see, per event kind; anything else stays internal.
_CUSTOMER_KEYS: dict[str, tuple[str, ...]] = {
    EventKind.BOOKED: ("reference", "device"),
    EventKind.STATUS_CHANGED: ("from", "to", "note"),
    EventKind.MILESTONE_REACHED: ("milestone_id", "title", "percent"),
    EventKind.PHOTO_ADDED: ("photo_id", "category", "category_label", "caption", "width", "height"),
    EventKind.QUALITY_CHECKED: ("check_id", "item", "passed", "notes"),
    EventKind.NOTE_ADDED: ("note_id", "text", "priority"),
    EventKind.QUOTE_SENT: ("amount", "currency"),
    EventKind.QUOTE_DECIDED: ("from", "to", "decision", "amount", "currency", "note"),
    EventKind.INVOICE_ISSUED: ("invoice_id", "amount", "currency"),
    EventKind.PAYMENT_RECEIVED: ("invoice_id", "amount", "currency", "provider"),
    EventKind.PAYMENT_FAILED: ("invoice_id", "amount", "currency", "provider"),
    EventKind.PAYMENT_REFUNDED: ("invoice_id", "amount", "currency", "provider", "reason"),
}


def public_group(ticket_id: int) -> str:
    return f"rt.ticket.{ticket_id}.public"


def internal_group(ticket_id: int) -> str:
    return f"rt.ticket.{ticket_id}.internal"


def technician_group(user_id: int) -> str:
    return f"rt.technician.{user_id}"


def customer_payload(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The part of an event's payload a customer may see."""
    keys = _CUSTOMER_KEYS.get(kind, ())
    safe = {key: payload[key] for key in keys if key in payload}
    ticket = payload.get("ticket") or {}
    safe["ticket"] = {k: ticket[k] for k in ("status", "status_label", "progress_percent") if k in ticket}
    if "status" in ticket:  # the line under the status chip, as the page renders it on a reload
        safe["ticket"]["status_sentence"] = STATUS_SENTENCES.get(ticket["status"], "")
    return safe


def event_message(
    *,
    reference: str,
    seq: int,
    kind: str,
    occurred_at: str,
    payload: dict[str, Any],
    customer_view: bool,
    published_at: float | None = None,
) -> dict[str, Any]:
    """One event as sent over a socket (``customer_view`` strips internal fields)."""
    body = customer_payload(kind, payload) if customer_view else payload
    message = {
        "type": "event",
        "reference": reference,
        "seq": seq,
        "kind": kind,
        "occurred_at": occurred_at,
        "payload": body,
        "display": describe_event(kind, body),
    }
    if published_at is not None:
        message["published_at"] = published_at
    return message


def stored_event_message(event: TicketEvent, reference: str, *, customer_view: bool) -> dict[str, Any]:
    return event_message(
        reference=reference,
        seq=event.seq,
        kind=event.kind,
        occurred_at=event.created_at.isoformat(),
        payload=event.payload,
        customer_view=customer_view,
    )


def photo_urls(photo_id: int, width: int | None, *, tracking_token: str | None) -> dict[str, str]:
    """Where this connection may fetch a photo's variants: a thumbnail and the full size, via
    the tracking link or the logged-in view."""
    widths = planned_widths(width)
    if tracking_token:

        def url(w: int) -> str:
            return reverse("track-photo-variant", args=[tracking_token, photo_id, w, "webp"])
    else:

        def url(w: int) -> str:
            return reverse("photo-variant", args=[photo_id, w, "webp"])

    return {"thumbnail_url": url(widths[0]), "photo_url": url(widths[-1])}


# --- broadcasting ------------------------------------------------------------------------------


def broadcast_ticket_event(event: DomainEvent) -> None:
    """Bus subscriber: send a committed ticket event to every room that should hear it."""
    if event.ticket_id is None or event.seq is None:
        return
    layer = get_channel_layer()
    if layer is None:
        return
    envelope = {
        "type": "ticket.event",  # dispatched to the consumers' ticket_event()
        "reference": event.ticket_reference,
        "ticket_id": event.ticket_id,
        "seq": event.seq,
        "kind": event.name,
        "occurred_at": event.occurred_at.isoformat(),
        "payload": event.payload,
        "customer_visible": event.customer_visible,
        "published_at": time.time(),
        # Internal, never copied into a client frame: for the socket's delivery log line.
        "meta": {"request_id": event.context.get("request_id")},
    }
    groups = [internal_group(event.ticket_id), STAFF_GROUP]
    if event.customer_visible:
        groups.append(public_group(event.ticket_id))
    for key in ("assigned_technician_id", "previous_technician_id"):
        technician_id = event.context.get(key)
        if technician_id and technician_group(technician_id) not in groups:
            groups.append(technician_group(technician_id))
    send = async_to_sync(layer.group_send)
    for group in groups:
        try:
            send(group, envelope)
        except Exception:  # the event is in the database; a client replays it with since=<seq>
            logger.exception("could not deliver %s #%s to %s", event.name, event.seq, group)


def connect_broadcaster() -> None:
    subscribe(ALL_EVENTS, broadcast_ticket_event)


# --- connection statistics ---------------------------------------------------------------------


class ConnectionStats:
    """Live counts of sockets per role and per room, and of messages sent.

    Kept in a Redis hash when ``REDIS_URL`` is set (shared by every web process), otherwise
    in this process's memory. Message counts are buffered and flushed at most once a second.
    """

    KEY = "revivatech:realtime:stats"

    def __init__(self) -> None:
        self._memory: dict[str, int] = {}
        self._clients: dict[int, Any] = {}
        self._pending_messages = 0
        self._last_flush = 0.0

    def _redis(self):
        if not settings.REDIS_URL:
            return None
        loop = asyncio.get_running_loop()
        client = self._clients.get(id(loop))
        if client is None:
            import redis.asyncio as aioredis

            client = aioredis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
            self._clients = {id(loop): client}  # one event loop per process in production
        return client

    async def _incr(self, changes: dict[str, int]) -> None:
        client = self._redis()
        try:
            if client is None:
                for field, delta in changes.items():
                    self._memory[field] = self._memory.get(field, 0) + delta
                    if self._memory[field] <= 0 and not field.startswith("messages"):
                        self._memory.pop(field)
                return
            async with client.pipeline(transaction=False) as pipe:
                for field, delta in changes.items():
                    pipe.hincrby(self.KEY, field, delta)
                await pipe.execute()
        except Exception:  # statistics must never break a socket
            logger.warning("could not update realtime statistics", exc_info=True)

    async def opened(self, role: str, room: str) -> None:
        await self._incr({f"role:{role}": 1, f"room:{room}": 1})

    async def closed(self, role: str, room: str) -> None:
        await self._incr({f"role:{role}": -1, f"room:{room}": -1})

    async def sent(self, count: int = 1) -> None:
        self._pending_messages += count
        now = time.monotonic()
        if now - self._last_flush >= 1.0:
            pending, self._pending_messages, self._last_flush = self._pending_messages, 0, now
            await self._incr({"messages_sent": pending})

    async def flush(self) -> None:
        if self._pending_messages:
            pending, self._pending_messages = self._pending_messages, 0
            await self._incr({"messages_sent": pending})

    def _raw(self) -> dict[str, int]:
        if not settings.REDIS_URL:
            return dict(self._memory)
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
        try:
            return {k.decode(): int(v) for k, v in client.hgetall(self.KEY).items()}
        finally:
            client.close()

    def snapshot(self) -> dict[str, Any]:
        """Counts as a plain dict: {"connections": {...}, "by_role": {...}, "by_room": {...}, ...}."""
        raw = self._raw()
        by_role = {k.split(":", 1)[1]: v for k, v in raw.items() if k.startswith("role:") and v > 0}
        by_room = {k.split(":", 1)[1]: v for k, v in raw.items() if k.startswith("room:") and v > 0}
        return {
            "connections": sum(by_role.values()),
            "by_role": by_role,
            "by_room": dict(sorted(by_room.items(), key=lambda item: -item[1])),
            "messages_sent": raw.get("messages_sent", 0) + self._pending_messages,
        }

    def reset(self) -> None:
        self._memory.clear()
        self._pending_messages = 0
        if settings.REDIS_URL:
            import redis

            client = redis.Redis.from_url(settings.REDIS_URL)
            try:
                client.delete(self.KEY)
            finally:
                client.close()


stats = ConnectionStats()
