"""WebSocket rooms: one ticket's room, a technician's stream and the staff stream.

A socket that may not join is accepted and closed at once with code 4403, before any data.
Rights are not only checked at connect: every socket checks them again before each event it
delivers and on every ``resume``, and at once when told to (a reassignment, a logout, a new
password, a change of role: see ``request_recheck`` in repairs/realtime.py); a socket that may no
longer see its room is closed with 4403.
On connect a ticket socket gets the events it missed (``?since=<seq>``) from the database,
then a snapshot; live events follow, deduplicated and gap-filled by sequence number.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import import_module
from typing import Any
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib import auth
from django.contrib.auth.models import AnonymousUser
from django.db import connection

from revivatech import rooms, sockets
from revivatech.events import EventKind
from revivatech.observability.sockets import delivering
from revivatech.sockets import FORBIDDEN

from . import resync, selectors
from .models import RepairTicket
from .presenters import STATUS_SENTENCES
from .readyby import selectors as readyby_selectors
from .realtime import (
    STAFF_GROUP,
    internal_group,
    live_frame,
    photo_urls,
    public_group,
    session_group,
    stats,
    stored_event_message,
    technician_group,
    user_group,
)
from .roles import (
    ROLE_ANONYMOUS,
    ROLE_CUSTOMER,
    ROLE_STAFF,
    ROLE_TECHNICIAN,
    is_shop_staff,
    is_technician,
    role_of,
)

STAFF_STATS_INTERVAL = 5.0
#: Answers of the shared per-event rights checks kept (oldest dropped first): a few events' worth.
SHARED_CHECKS_KEPT = 4096
_shared_checks: dict[tuple[str, str | None, str | None, int], asyncio.Future[bool]] = {}
#: Where the rights checks before live events run: not the one thread that Django's views and the
#: sockets' connects share, so an event never waits behind an HTTP request or a reconnect storm.
_live_checks = ThreadPoolExecutor(max_workers=2, thread_name_prefix="live-rights")


def _live_check(func):
    if connection.vendor == "sqlite":
        # One writer at a time there anyway, and an in-memory test database fails at once on a
        # lock another thread holds: the shared thread, as every other database call.
        return database_sync_to_async(func)

    def check(*args: Any, **kwargs: Any) -> bool:
        try:
            return func(*args, **kwargs)
        finally:
            # No connection left open in these threads between checks: one kept idle there went
            # stale when the server ended it (a restart, an idle timeout) and failed the next check.
            connection.close()

    return database_sync_to_async(check, thread_sensitive=False, executor=_live_checks)


@dataclass(frozen=True)
class TicketAccess:
    ticket_id: int
    reference: str
    role: str
    customer_view: bool
    tracking_token: str | None  # set when the customer came in through the tracking link


def _query_params(scope) -> dict[str, str]:
    parsed = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return {key: values[-1] for key, values in parsed.items()}


def _parse_since(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 9:
        raise ValueError("since must be a whole number of at least 0")
    return int(raw)


def resolve_ticket_access(
    user, reference: str, token: str | None, view_as: str | None
) -> TicketAccess | None:
    """Who may join a ticket's room: its customer (login or tracking token), the assigned
    technician and staff. Staff may ask to see the customer's view (``as=customer``)."""
    ticket = RepairTicket.objects.select_related("customer").filter(reference=reference).first()
    if ticket is None:
        return None
    role = role_of(user)
    if role == ROLE_STAFF or (role == ROLE_TECHNICIAN and ticket.assigned_technician_id == user.pk):
        customer_view = view_as == "customer"
        return TicketAccess(ticket.pk, ticket.reference, role, customer_view, None)
    if token and hmac.compare_digest(token.encode(), ticket.tracking_token.encode()):
        return TicketAccess(ticket.pk, ticket.reference, ROLE_CUSTOMER, True, token)
    if role == ROLE_CUSTOMER and ticket.customer.user_id == user.pk:
        return TicketAccess(ticket.pk, ticket.reference, ROLE_CUSTOMER, True, None)
    return None


def _session_key(scope) -> str | None:
    user = scope.get("user")
    session = scope.get("session")
    if user is None or not user.is_authenticated or session is None:
        return None
    return getattr(session, "session_key", None)


@dataclass
class _FreshRequest:
    session: Any


def current_user(scope, *, session_ended: bool = False):
    """The socket's user as things stand now: anonymous once the login session that opened the
    socket has ended (logout, a new password, expiry) or the account was deactivated."""
    user = scope.get("user")
    if user is None or not user.is_authenticated or session_ended:
        return AnonymousUser()
    key = _session_key(scope)
    if key:
        # The scope's session was read at connect; read it again from the store.
        store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=key)
        fresh = auth.get_user(_FreshRequest(session=store))
        return fresh if fresh.is_authenticated and fresh.pk == user.pk else AnonymousUser()
    # No session (another authentication, or tests): the account as the database holds it now.
    fresh = type(user)._default_manager.filter(pk=user.pk, is_active=True).first()
    return fresh or AnonymousUser()


class JsonSocket(sockets.JsonSocket):
    """The kernel's JSON socket (frames, errors, refusal) plus statistics, live-event logging
    and rights that are checked again (``still_allowed``) whenever they matter."""

    role = ROLE_ANONYMOUS
    room = ""
    counted = False
    revoked = False

    def still_allowed(self, *, session_ended: bool = False) -> bool:
        """Whether this socket may still see its room (sync: runs in a database thread)."""
        raise NotImplementedError

    async def check_rights(self, *, session_ended: bool = False) -> bool:
        """Check the rights again; close the socket with 4403 if they are gone."""
        if self.revoked:
            return False
        if await _live_check(self.still_allowed)(session_ended=session_ended):
            return True
        self.revoked = True
        await self.close(code=FORBIDDEN)
        return False

    async def access_recheck(self, message: dict[str, Any]) -> None:
        """From the channel layer: a right of this socket's user (or session) may have ended."""
        await self.check_rights(session_ended=bool(message.get("session_ended")))

    async def dispatch(self, message: dict[str, Any]) -> None:
        with delivering(message):  # logs a live event with the request id that caused it
            if message["type"] == "ticket.event":
                # Straight to the handler: channels would first close stale database connections
                # through the one sync thread, a hop per socket per event queued behind the HTTP
                # views. These handlers reach the database only via database_sync_to_async,
                # which closes them itself.
                await self.ticket_event(message)
            else:
                await super().dispatch(message)

    async def send_json(self, content: dict[str, Any]) -> None:
        await self.send_frame(sockets.encode(content))

    async def send_frame(self, frame: str) -> None:
        """Send an already encoded frame (see repairs.realtime.live_frame)."""
        await self.send(text_data=frame)
        await stats.sent()

    async def start_counting(self, role: str, room: str) -> None:
        self.role, self.room, self.counted = role, room, True
        await stats.opened(role, room)

    async def disconnect(self, code: int) -> None:
        self.leave_rooms()
        for group in getattr(self, "joined_groups", []):
            await self.channel_layer.group_discard(group, self.channel_name)
        if self.counted:
            self.counted = False
            await stats.closed(self.role, self.room)
            await stats.flush()

    async def join(self, *groups: str) -> None:
        """Join the room's groups, and the groups through which this socket hears that its
        user's or its login session's rights changed."""
        user = self.scope.get("user")
        groups += (user_group(user.pk),) if user is not None and user.is_authenticated else ()
        key = _session_key(self.scope)
        groups += (session_group(key),) if key else ()
        self.joined_groups = list(groups)
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)

    async def join_room(self, group: str) -> None:
        """Hear ``group`` through this process's room (revivatech/rooms.py): for the groups many
        sockets of a process share, a ticket's followers. Its messages reach :meth:`room_message`
        in a task of their own, concurrently with this socket's other handlers."""
        self.joined_rooms = [*getattr(self, "joined_rooms", []), group]
        await rooms.join(self.channel_layer, group, self)

    def leave_rooms(self) -> None:
        for group in getattr(self, "joined_rooms", []):
            rooms.leave(self.channel_layer, group, self)
        self.joined_rooms = []

    async def room_message(self, message: dict[str, Any]) -> None:
        await self.dispatch(message)


class TicketConsumer(JsonSocket):
    """``ws/repairs/<reference>/``: one ticket's room."""

    access: TicketAccess | None = None
    last_seq = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sending = asyncio.Lock()

    async def connect(self) -> None:
        params = _query_params(self.scope)
        try:
            since = _parse_since(params.get("since"))
        except ValueError:
            since = None
            bad_since = True
        else:
            bad_since = False
        reference = self.scope["url_route"]["kwargs"]["reference"]
        self.token, self.view_as = params.get("token"), params.get("as")
        self.access = await database_sync_to_async(resolve_ticket_access)(
            self.scope.get("user"), reference, self.token, self.view_as
        )
        if self.access is None:
            await self.refuse()
            return
        access = self.access
        # Live events reach the room's members concurrently with this handler: they wait for the
        # lock, so the first one sent comes after the catch-up and knows what it sent.
        async with self.sending:
            try:
                # Join first, then read the database: nothing committed in between can be missed.
                group = public_group if access.customer_view else internal_group
                await self.join_room(group(access.ticket_id))
                await self.join()
                await self.accept()
                await self.start_counting(access.role, access.reference)
                if bad_since:
                    await self.send_error(
                        "since must be a whole number of at least 0; sending the current state."
                    )
                await self.send_catch_up(since)
            except BaseException:
                self.leave_rooms()  # no disconnect follows a failed connect
                raise
        resync.register(self)  # replays what it missed if Redis restarts (repairs/resync.py)

    async def send_catch_up(self, since: int | None) -> None:
        events, snapshot = await database_sync_to_async(self._load)(since)
        for message in events:
            await self.send_json(message)
        # The events are read after the ticket: one committed in between is already sent and
        # must not go out again when its live copy arrives.
        self.last_seq = max(self.last_seq, snapshot["ticket"]["last_seq"], *(m["seq"] for m in events))
        await self.send_json(snapshot)

    def _load(self, since: int | None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        access = self.access
        ticket = RepairTicket.objects.get(pk=access.ticket_id)
        events = []
        if since is not None:
            stored = selectors.ticket_events_since(ticket, since, customer_view=access.customer_view)
            events = [
                self._decorate(stored_event_message(e, access.reference, customer_view=access.customer_view))
                for e in stored
            ]
        snapshot = {
            "type": "snapshot",
            "view": "customer" if access.customer_view else "internal",
            "ticket": {
                "reference": ticket.reference,
                "status": ticket.status,
                "status_label": ticket.get_status_display(),
                "status_sentence": STATUS_SENTENCES.get(ticket.status, ""),
                "progress_percent": ticket.progress_percent,
                "last_seq": ticket.last_event_seq,
            },
            # Worded for customers (times and sentences only), so the same for every view.
            "ready_by": readyby_selectors.customer_ready_by(ticket),
        }
        return events, snapshot

    def still_allowed(self, *, session_ended: bool = False) -> bool:
        access = self.access
        now = resolve_ticket_access(
            current_user(self.scope, session_ended=session_ended), access.reference, self.token, self.view_as
        )
        # The same room and view only (a changed view means reconnecting, to get the right snapshot).
        return now is not None and (now.ticket_id, now.customer_view) == (
            access.ticket_id,
            access.customer_view,
        )

    def _decorate(self, message: dict[str, Any]) -> dict[str, Any]:
        payload = message["payload"]
        if message["kind"] == EventKind.PHOTO_ADDED and payload.get("photo_id"):
            message.update(
                photo_urls(
                    payload["photo_id"], payload.get("width"), tracking_token=self.access.tracking_token
                )
            )
        return message

    async def ticket_event(self, envelope: dict[str, Any]) -> None:
        """A live event from the channel layer."""
        async with self.sending:  # one at a time with a replay after a Redis outage
            await self._live_event(envelope)

    async def _live_event(self, envelope: dict[str, Any]) -> None:
        seq = envelope["seq"]
        if seq <= self.last_seq:
            return  # already sent by the catch-up
        if self.access.customer_view and not envelope["customer_visible"]:
            return
        if not await self.check_rights_for_event(seq):
            return
        if seq > self.last_seq + 1:
            # Something was not delivered (or is internal): the database has it, in order.
            missing = await database_sync_to_async(self._between)(self.last_seq, seq)
            for message in missing:
                await self.send_json(message)
        await self.send_frame(
            live_frame(
                envelope,
                customer_view=self.access.customer_view,
                photo_links=True,
                tracking_token=self.access.tracking_token,
            )
        )
        self.last_seq = seq

    async def check_rights_for_event(self, seq: int) -> bool:
        """:meth:`check_rights` before a live event. The sockets of one tracking link (no login: the
        answer depends only on the reference, the token and the view) share one check per event in
        this process: a link opened by hundreds costs one query per event, not hundreds."""
        user = self.scope.get("user")
        if self.revoked or (user is not None and user.is_authenticated):
            return await self.check_rights()
        key = (self.access.reference, self.token, self.view_as, seq)
        check = _shared_checks.get(key)
        if check is None or check.get_loop() is not asyncio.get_running_loop():
            # A task of its own: a socket closing while it waits does not cancel the others' answer.
            check = asyncio.ensure_future(_live_check(self.still_allowed)())
            _shared_checks[key] = check
            while len(_shared_checks) > SHARED_CHECKS_KEPT:
                del _shared_checks[next(iter(_shared_checks))]
        if check.done() and not check.cancelled() and check.exception() is None:
            allowed = check.result()  # answered already (all but the first sockets): no task, no shield
        else:
            allowed = await asyncio.shield(check)
        if allowed:
            return True
        self.revoked = True
        await self.close(code=FORBIDDEN)
        return False

    async def resync(self) -> None:
        """Send what this socket missed while the channel layer was down (see repairs/resync.py)."""
        async with self.sending:
            if not await self.check_rights():
                return
            missing = await database_sync_to_async(self._between)(self.last_seq, 2**31)
            for message in missing:
                await self.send_json(message)
                self.last_seq = max(self.last_seq, message["seq"])

    async def disconnect(self, code: int) -> None:
        resync.unregister(self)
        await super().disconnect(code)

    def _between(self, after: int, before: int) -> list[dict[str, Any]]:
        ticket = RepairTicket.objects.get(pk=self.access.ticket_id)
        stored = selectors.ticket_events_since(ticket, after, customer_view=self.access.customer_view)
        return [
            self._decorate(
                stored_event_message(e, self.access.reference, customer_view=self.access.customer_view)
            )
            for e in stored.filter(seq__lt=before)
        ]

    async def handle_client_message(self, content: dict[str, Any]) -> None:
        if content["type"] == "resume":
            since = content.get("since")
            if not isinstance(since, int) or isinstance(since, bool) or since < 0:
                await self.send_error('"resume" needs "since": a whole number of at least 0.')
                return
            async with self.sending:  # not interleaved with a live event being sent
                if await self.check_rights():
                    await self.send_catch_up(since)
            return
        await super().handle_client_message(content)


class TechnicianConsumer(JsonSocket):
    """``ws/technician/``: every update of the tickets assigned to the connected technician."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if not await database_sync_to_async(is_technician)(user):
            await self.refuse()
            return
        await self.join(technician_group(user.pk))
        await self.accept()
        await self.start_counting(ROLE_TECHNICIAN, f"technician:{user.pk}")
        await self.send_json(
            {"type": "snapshot", "tickets": await database_sync_to_async(self._tickets)(user)}
        )

    def still_allowed(self, *, session_ended: bool = False) -> bool:
        return is_technician(current_user(self.scope, session_ended=session_ended))

    @staticmethod
    def _tickets(user) -> list[dict[str, Any]]:
        tickets = selectors.tickets_visible_to(user).filter(status__in=selectors.open_statuses())
        return [
            {
                "reference": t.reference,
                "status": t.status,
                "status_label": t.get_status_display(),
                "progress_percent": t.progress_percent,
                "priority": t.priority,
                "last_seq": t.last_event_seq,
            }
            for t in tickets[:200]
        ]

    async def ticket_event(self, envelope: dict[str, Any]) -> None:
        if not await self.check_rights():
            return
        await self.send_frame(live_frame(envelope, customer_view=False))


class StaffConsumer(TechnicianConsumer):
    """``ws/staff/``: every ticket's updates plus connection statistics every few seconds."""

    stats_task: asyncio.Task | None = None

    def still_allowed(self, *, session_ended: bool = False) -> bool:
        return is_shop_staff(current_user(self.scope, session_ended=session_ended))

    async def connect(self) -> None:
        user = self.scope.get("user")
        if not await database_sync_to_async(is_shop_staff)(user):
            await self.refuse()
            return
        await self.join(STAFF_GROUP)
        await self.accept()
        await self.start_counting(ROLE_STAFF, "staff")
        await self.send_json(
            {"type": "snapshot", "tickets": await database_sync_to_async(self._tickets)(user)}
        )
        await self.send_stats()
        self.stats_task = asyncio.create_task(self._stats_loop())

    async def send_stats(self) -> None:
        await self.send_json(
            {"type": "stats", **await sync_to_async(stats.snapshot, thread_sensitive=False)()}
        )

    async def _stats_loop(self) -> None:
        while True:
            await asyncio.sleep(STAFF_STATS_INTERVAL)
            await self.send_stats()

    async def handle_client_message(self, content: dict[str, Any]) -> None:
        if content["type"] == "stats":
            await self.send_stats()
            return
        await super().handle_client_message(content)

    async def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        if self.stats_task:
            self.stats_task.cancel()
        await super().close(code=code, reason=reason)

    async def disconnect(self, code: int) -> None:
        if self.stats_task:
            self.stats_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.stats_task
        await super().disconnect(code)
