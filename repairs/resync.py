"""Replay after a Redis outage: sockets that stayed open get what was published while Redis was down.

A ticket socket fills a gap when the ticket's *next* live event arrives (its ``seq`` jumps). When
Redis (the channel layer) restarts or is unreachable, events published meanwhile never reach the
web processes, and a socket that stayed open would show the missing events only at the ticket's
next event, which may never come (found by the fault suite, ``make faults``, fault 2).

So each web process runs one small watcher while it has ticket sockets: every
``REALTIME_RESYNC_CHECK_SECONDS`` it asks Redis for its ``run_id``. When a check fails and a later
one succeeds, or the ``run_id`` changed (a restart, however quick), every ticket socket of this
process replays from the database what it missed, at once and again a little later (the channel
layer re-subscribes in the background; the second pass covers events published in between).
The event log in PostgreSQL stays the single source of truth; this only shortens the gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from typing import Protocol

from django.conf import settings

from revivatech import redis_clients

logger = logging.getLogger(__name__)

#: Seconds after recovery at which every socket replays what it missed.
REPLAY_AFTER = (0.0, 1.5, 4.0)


class Resyncable(Protocol):
    async def resync(self) -> None: ...


_sockets: weakref.WeakSet = weakref.WeakSet()
_watchers: dict[int, asyncio.Task] = {}


def register(socket: Resyncable) -> None:
    """Follow this socket; start this event loop's watcher if it is not running."""
    if not settings.REDIS_URL or getattr(settings, "REALTIME_RESYNC_CHECK_SECONDS", 1.0) <= 0:
        return
    _sockets.add(socket)
    loop = asyncio.get_running_loop()
    task = _watchers.get(id(loop))
    if task is None or task.done() or task.get_loop() is not loop:  # ids of closed loops are reused
        _watchers[id(loop)] = loop.create_task(_watch(), name="realtime-resync-watcher")


def unregister(socket: Resyncable) -> None:
    _sockets.discard(socket)


async def _replay_all(delays: tuple[float, ...] = REPLAY_AFTER) -> None:
    waited = 0.0
    for delay in delays:
        await asyncio.sleep(max(0.0, delay - waited))
        waited = delay
        sockets = list(_sockets)
        logger.warning("redis came back: %d ticket sockets replay what they missed", len(sockets))
        results = await asyncio.gather(*(s.resync() for s in sockets), return_exceptions=True)
        for result in results:
            if isinstance(result, Exception):
                logger.warning("a socket could not replay: %r", result)


async def _watch() -> None:
    interval = float(getattr(settings, "REALTIME_RESYNC_CHECK_SECONDS", 1.0))
    client = redis_clients.async_client(settings.REDIS_URL, redis_clients.PROBE)
    run_id: str | None = None
    unreachable = False
    replay: asyncio.Task | None = None
    try:
        while _sockets:
            try:
                info = await client.info("server")
            except Exception:
                unreachable = True
            else:
                current = str(info.get("run_id", ""))
                if unreachable or (run_id is not None and current != run_id):
                    if replay is not None and not replay.done():
                        replay.cancel()
                    replay = asyncio.create_task(_replay_all())
                unreachable, run_id = False, current
            await asyncio.sleep(interval)
    finally:
        if replay is not None and not replay.done():
            with contextlib.suppress(Exception):
                await replay
