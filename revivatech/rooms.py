"""Rooms: a channel-layer group heard once per process, fanned out to this process's sockets.

With Channels, every socket in a group is its own channel: for each message the layer decodes it
once per socket, queues it, and each socket's receive task wakes, is awaited through
``asyncio.wait`` and is created again. A ticket followed by hundreds of sockets in one process paid
that per socket, one after another, and the last socket heard of an event 100-150 ms after the
first (``make bench-realtime-processes``, docs/realtime.md).

A room subscribes one channel of this process (per event loop) to the group, decodes each message
once and hands it to each member in a task of its own, in the member's logging context: a slow or
stuck socket never holds up the others, and one member's error is logged, not spread. Members see
messages in the order the group received them (one task per member per message, started in
order; members serialise their own handling, e.g. with a lock).

The channel leaves the group a little while after the last member left, so a page reload or a
restart's reconnects do not unsubscribe and subscribe again.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from typing import Any, Protocol

logger = logging.getLogger(__name__)

#: Seconds an empty room keeps its subscription before leaving the group.
IDLE_SECONDS = 30.0
#: Seconds between a room's renewals of its group membership (the layers expire it after a day).
RENEW_SECONDS = 3600.0


class Member(Protocol):
    async def room_message(self, message: dict[str, Any]) -> None: ...


class Room:
    def __init__(self, layer, group: str) -> None:
        self.layer, self.group = layer, group
        #: Member -> the logging context its deliveries run in (the socket's own).
        self.members: dict[Member, contextvars.Context] = {}
        self.channel: str | None = None
        self.opening: asyncio.Future | None = None
        self.reader: asyncio.Task | None = None
        self.renewer: asyncio.Task | None = None
        self.idle: asyncio.TimerHandle | None = None
        self.deliveries: set[asyncio.Task] = set()  # tasks are only weakly held by the loop

    async def _open(self) -> None:
        # The default prefix: the core Redis layer reads a process's channels of one prefix with one
        # blocking read at a time, so a channel of its own prefix waited behind every socket's read.
        self.channel = await self.layer.new_channel()
        await self.layer.group_add(self.group, self.channel)
        self.reader = asyncio.create_task(self._read(), name=f"room {self.group}")
        self.renewer = asyncio.create_task(self._renew(), name=f"room {self.group} renewal")

    async def _renew(self) -> None:
        # Redis and in-memory layers forget a group member after ``group_expiry`` (a day): a room
        # can outlive that (a ticket followed around the clock), so it joins again every hour.
        while True:
            await asyncio.sleep(RENEW_SECONDS)
            try:
                await self.layer.group_add(self.group, self.channel)
            except Exception:
                logger.warning("room %s: could not renew its membership", self.group, exc_info=True)

    async def _read(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except TimeoutError:  # the core layer's blocking read timed out: read again
                continue
            except Exception:  # e.g. Redis restarting: the layer reconnects; keep listening
                logger.warning("room %s: could not receive", self.group, exc_info=True)
                await asyncio.sleep(1.0)
                continue
            for member, context in list(self.members.items()):
                task = loop.create_task(self._deliver(member, message), context=context.copy())
                self.deliveries.add(task)
                task.add_done_callback(self.deliveries.discard)

    async def _deliver(self, member: Member, message: dict[str, Any]) -> None:
        if member not in self.members:
            return  # left since the message arrived
        try:
            await member.room_message(message)
        except Exception:
            if member in self.members:
                logger.exception("room %s: a member failed on a %s message", self.group, message.get("type"))
            # else: the socket closed while it was being sent to; nothing to tell

    async def close(self) -> None:
        for task in (self.reader, self.renewer):
            if task is not None:
                task.cancel()
        for task in list(self.deliveries):
            task.cancel()
        if self.channel is not None:
            try:
                await self.layer.group_discard(self.group, self.channel)
            except Exception:  # the layer forgets the subscription with the connection anyway
                logger.warning("room %s: could not leave the group", self.group, exc_info=True)


#: Per event loop (tests and async_to_sync run several): id(loop) -> (loop, {(layer, group): Room}).
_rooms: dict[int, tuple[asyncio.AbstractEventLoop, dict[tuple[Any, str], Room]]] = {}


def _loop_rooms() -> dict[tuple[Any, str], Room]:
    loop = asyncio.get_running_loop()
    entry = _rooms.get(id(loop))
    if entry is None or entry[0] is not loop:  # ids of closed loops are reused
        for loop_id in [i for i, (other, _) in _rooms.items() if other.is_closed()]:
            del _rooms[loop_id]
        entry = _rooms[id(loop)] = (loop, {})
    return entry[1]


async def join(layer, group: str, member: Member) -> None:
    """Add ``member`` to ``group``'s room in this process. Returns once the room hears the group:
    every message sent to the group from then on reaches ``member.room_message``."""
    rooms = _loop_rooms()
    room = rooms.get((layer, group))
    if room is None:
        room = rooms[(layer, group)] = Room(layer, group)
    room.members[member] = contextvars.copy_context()
    if room.idle is not None:
        room.idle.cancel()
        room.idle = None
    if room.opening is None or (room.opening.done() and room.opening.exception() is not None):
        # A task of its own: a socket that closes while waiting does not cancel the others' wait.
        room.opening = asyncio.ensure_future(room._open())
    try:
        await asyncio.shield(room.opening)
    except BaseException:
        room.members.pop(member, None)
        raise


def leave(layer, group: str, member: Member) -> None:
    """Remove ``member``; an empty room leaves the group after :data:`IDLE_SECONDS`."""
    rooms = _loop_rooms()
    room = rooms.get((layer, group))
    if room is None or room.members.pop(member, None) is None or room.members:
        return
    loop = asyncio.get_running_loop()

    def close_if_still_empty() -> None:
        room.idle = None
        if room.members or rooms.get((layer, group)) is not room:
            return
        del rooms[(layer, group)]  # a join from now on opens a new room
        task = loop.create_task(room.close())
        _closing.add(task)
        task.add_done_callback(_closing.discard)

    room.idle = loop.call_later(IDLE_SECONDS, close_if_still_empty)


_closing: set[asyncio.Task] = set()


def members(layer, group: str) -> int:
    """How many sockets of this process (this event loop) are in ``group``'s room."""
    room = _loop_rooms().get((layer, group))
    return len(room.members) if room is not None else 0
