"""Live repair tracking: who hears which event, what a customer may see, connection statistics.

The broadcaster subscribes to the domain event bus and fans each ticket event out over the
channel layer after commit. Sockets are only a delivery path: every message carries the
ticket's sequence number, and a client that missed any replays them from the database.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import Counter
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.urls import reverse

from revivatech import redis_clients, sockets
from revivatech.events import ALL_EVENTS, DomainEvent, subscribe

from .models import EventKind, TicketEvent
from .photos import planned_widths
from .presenters import describe_event, event_payload

logger = logging.getLogger(__name__)

STAFF_GROUP = "rt.staff"


def public_group(ticket_id: int) -> str:
    return f"rt.ticket.{ticket_id}.public"


def internal_group(ticket_id: int) -> str:
    return f"rt.ticket.{ticket_id}.internal"


def technician_group(user_id: int) -> str:
    return f"rt.technician.{user_id}"


def user_group(user_id: int) -> str:
    """Every socket of one signed-in user (any room): told to check its rights again."""
    return f"rt.user.{user_id}"


def session_group(session_key: str) -> str:
    """Every socket opened with one login session (the key itself never leaves the process)."""
    return "rt.session." + hashlib.sha256(session_key.encode()).hexdigest()[:40]


def request_recheck(
    *, user_id: int | None = None, session_key: str | None = None, ended: bool = False
) -> None:
    """Tell the sockets of a user (or of one login session) to check their rights again at once,
    after the current transaction commits; ``ended``: that session is being ended (logout), so its
    sockets keep only what they may see without it (a tracking link). Sockets that may no longer
    see their room close with 4403 (repairs/consumers.py)."""
    groups = [user_group(user_id)] if user_id else []
    groups += [session_group(session_key)] if session_key else []
    if not groups:
        return
    message = {"type": "access.recheck", "session_ended": ended}

    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        for group in groups:
            try:
                async_to_sync(layer.group_send)(group, message)
            except Exception:  # each socket also re-checks before every event it delivers
                logger.exception("could not ask %s to re-check its rights", group)

    transaction.on_commit(send)


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
    body = event_payload(kind, payload, customer_view=customer_view)
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


#: Live frames kept per process (oldest dropped first): a few events' worth of views and links.
FRAMES_KEPT = 1024
_frames: dict[tuple, str] = {}


def live_frame(
    envelope: dict[str, Any],
    *,
    customer_view: bool,
    photo_links: bool = False,
    tracking_token: str | None = None,
) -> str:
    """A live event's text frame for one view, encoded once per process.

    A ticket's room can hold hundreds of sockets in one process: they send the same string
    instead of each building, wording and encoding the event again. ``photo_links`` adds where
    this connection may fetch a photo (through ``tracking_token``'s link, or the signed-in view).
    """
    photo = photo_links and envelope["kind"] == EventKind.PHOTO_ADDED
    # published_at tells apart two events of equal reference and seq (a test database reset).
    key = (envelope["reference"], envelope["seq"], envelope.get("published_at"), customer_view, photo_links,
           tracking_token if photo else None)  # fmt: skip
    frame = _frames.get(key)
    if frame is None:
        message = event_message(
            reference=envelope["reference"],
            seq=envelope["seq"],
            kind=envelope["kind"],
            occurred_at=envelope["occurred_at"],
            payload=envelope["payload"],
            customer_view=customer_view,
            published_at=envelope.get("published_at"),
        )
        payload = message["payload"]
        if photo and payload.get("photo_id"):
            message.update(
                photo_urls(payload["photo_id"], payload.get("width"), tracking_token=tracking_token)
            )
        frame = _frames[key] = sockets.encode(message)
        while len(_frames) > FRAMES_KEPT:
            del _frames[next(iter(_frames))]
    return frame


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
    async_to_sync(_send_to_groups)(layer, groups, envelope)


async def _send_to_groups(layer, groups: list[str], envelope: dict[str, Any]) -> None:
    # One hop to the event loop for all groups, not one each: behind a busy loop (a crowd of
    # sockets being served), every hop waits its turn and the last group heard of it last.
    for group in groups:
        try:
            await layer.group_send(group, envelope)
        except Exception:  # the event is in the database; a client replays it with since=<seq>
            logger.exception("could not deliver %s #%s to %s", envelope["kind"], envelope["seq"], group)


def connect_broadcaster() -> None:
    subscribe(ALL_EVENTS, broadcast_ticket_event)


# --- rights that end while a socket is open ----------------------------------------------------


def _recheck_previous_technician(event: DomainEvent) -> None:
    previous = event.context.get("previous_technician_id")
    if previous and previous != event.context.get("assigned_technician_id"):
        request_recheck(user_id=previous)


def _on_logout(sender, request=None, user=None, **kwargs) -> None:
    session = getattr(request, "session", None)
    key = getattr(session, "session_key", None)
    if key:
        request_recheck(session_key=key, ended=True)


def _remember_access_fields(sender, instance, update_fields=None, **kwargs) -> None:
    """Before a user is saved: will the password or the active flag change?"""
    instance._rt_access_changed = False
    if instance.pk is None:
        return
    if update_fields is not None and not {"password", "is_active"} & set(update_fields):
        return  # e.g. the last_login update of every sign-in
    stored = sender.objects.filter(pk=instance.pk).values_list("password", "is_active").first()
    instance._rt_access_changed = stored is not None and stored != (instance.password, instance.is_active)


def _on_user_saved(sender, instance, created=False, **kwargs) -> None:
    if getattr(instance, "_rt_access_changed", False):
        request_recheck(user_id=instance.pk)  # a new password ends the other sessions


def _on_groups_changed(sender, instance, action, reverse=False, pk_set=None, **kwargs) -> None:
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if not reverse:  # user.groups changed
        request_recheck(user_id=instance.pk)
        return
    for user_id in pk_set or ():  # group.user_set changed (post_clear gives no ids: pre_clear does)
        request_recheck(user_id=user_id)


def _before_group_cleared(sender, instance, action, reverse=False, **kwargs) -> None:
    if action == "pre_clear" and reverse:
        for user_id in instance.user_set.values_list("pk", flat=True):
            request_recheck(user_id=user_id)


def connect_access_signals() -> None:
    """Sockets learn at once when a right ends: a reassignment (the previous technician), a logout
    (that session's sockets), a new password or a deactivation, a change of role groups."""
    from django.contrib.auth import get_user_model, user_logged_out
    from django.db.models.signals import m2m_changed, post_save, pre_save

    user_model = get_user_model()
    subscribe(EventKind.DETAILS_UPDATED, _recheck_previous_technician)
    user_logged_out.connect(_on_logout, dispatch_uid="rt-access-logout")
    pre_save.connect(_remember_access_fields, sender=user_model, dispatch_uid="rt-access-pre-save")
    post_save.connect(_on_user_saved, sender=user_model, dispatch_uid="rt-access-post-save")
    memberships = user_model.groups.through
    m2m_changed.connect(_on_groups_changed, sender=memberships, dispatch_uid="rt-access-groups")
    m2m_changed.connect(_before_group_cleared, sender=memberships, dispatch_uid="rt-access-clear")


# --- connection statistics ---------------------------------------------------------------------


class ConnectionStats:
    """Live counts of sockets per role and per room, and of messages sent.

    Kept in a Redis hash when ``REDIS_URL`` is set (shared by every web process), otherwise
    in this process's memory. On Redis, changes are summed in the process and written at most
    once a second in one pipeline: a reconnect storm of thousands of sockets is one write a
    second, not a connection each (which exhausted the pool). Readers in this process add what
    is not written yet, so its own counts are exact at once; other processes see them within
    about a second.
    """

    KEY = "revivatech:realtime:stats"
    FLUSH_INTERVAL = 1.0

    def __init__(self) -> None:
        self._memory: dict[str, int] = {}
        self._pending: Counter[str] = Counter()
        self._flush_task: asyncio.Task | None = None

    def _add(self, changes: dict[str, int]) -> None:
        if not settings.REDIS_URL:
            for name, delta in changes.items():
                self._memory[name] = self._memory.get(name, 0) + delta
                if self._memory[name] <= 0 and not name.startswith("messages"):
                    self._memory.pop(name)
            return
        self._pending.update(changes)
        task = self._flush_task
        loop = asyncio.get_running_loop()
        if task is None or task.done() or task.get_loop() is not loop:
            self._flush_task = loop.create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        await asyncio.sleep(self.FLUSH_INTERVAL)
        await self.flush()

    async def opened(self, role: str, room: str) -> None:
        self._add({f"role:{role}": 1, f"room:{room}": 1})

    async def closed(self, role: str, room: str) -> None:
        self._add({f"role:{role}": -1, f"room:{room}": -1})

    async def sent(self, count: int = 1) -> None:
        if not settings.REDIS_URL:
            self._add({"messages_sent": count})
            return
        self._pending["messages_sent"] += count  # per frame: no dict built, the flush is already due
        if self._flush_task is None or self._flush_task.done():
            self._add({})

    async def flush(self) -> None:
        """Write the summed changes now (a process shutting down, a test)."""
        pending, self._pending = self._pending, Counter()
        changes = {name: delta for name, delta in pending.items() if delta}
        if not changes or not settings.REDIS_URL:
            return
        client = redis_clients.async_client(settings.REDIS_URL, redis_clients.REALTIME)
        try:
            async with client.pipeline(transaction=False) as pipe:
                for name, delta in changes.items():
                    pipe.hincrby(self.KEY, name, delta)
                await pipe.execute()
        except Exception:  # statistics must never break a socket; kept for the next write
            self._pending.update(changes)
            logger.warning("could not update realtime statistics", exc_info=True)

    def _raw(self) -> dict[str, int]:
        if not settings.REDIS_URL:
            return dict(self._memory)
        client = redis_clients.sync_client(settings.REDIS_URL, redis_clients.REALTIME)
        raw = Counter({k.decode(): int(v) for k, v in client.hgetall(self.KEY).items()})
        raw.update(dict(self._pending))  # a copy: sockets may change it meanwhile
        return dict(raw)

    def snapshot(self) -> dict[str, Any]:
        """Counts as a plain dict: {"connections": {...}, "by_role": {...}, "by_room": {...}, ...}."""
        raw = self._raw()
        by_role = {k.split(":", 1)[1]: v for k, v in raw.items() if k.startswith("role:") and v > 0}
        by_room = {k.split(":", 1)[1]: v for k, v in raw.items() if k.startswith("room:") and v > 0}
        return {
            "connections": sum(by_role.values()),
            "by_role": by_role,
            "by_room": dict(sorted(by_room.items(), key=lambda item: -item[1])),
            "messages_sent": raw.get("messages_sent", 0),
        }

    def reset(self) -> None:
        self._memory.clear()
        self._pending.clear()
        self._flush_task = None
        if settings.REDIS_URL:
            redis_clients.sync_client(settings.REDIS_URL, redis_clients.REALTIME).delete(self.KEY)


stats = ConnectionStats()
