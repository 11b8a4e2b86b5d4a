"""The one place that builds Redis clients (redis-py), so each process keeps one connection pool per
Redis and purpose instead of opening new sockets per request.

* :func:`sync_client` — a ``redis.Redis`` per process, cached by (URL, purpose). Thread-safe (its
  pool hands each thread its own connection).
* :func:`async_client` — a ``redis.asyncio.Redis`` per running event loop, cached by (URL, purpose):
  its connections belong to the loop they were opened on, so a client is never reused on another
  loop, nor after its loop closed (tests and ``async_to_sync`` run several loops in one process).

The cache is keyed by the process id: a child of ``fork`` (Celery prefork workers, ``uvicorn
--workers``) builds its own clients instead of sharing the parent's sockets.

Each :class:`Purpose` names the time-outs of one kind of caller; a purpose answers quickly when
Redis is down where a request or a probe waits on it. Django's cache takes its client from
:func:`cache_client` (through ``revivatech.cache.SharedRedisCache``); Channels and Celery build their
own connections from ``REDIS_URL`` and are not routed through here.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Purpose:
    """Time-outs (seconds) for one kind of caller: connecting, and each command once connected."""

    name: str
    socket_timeout: float
    connect_timeout: float


#: Readiness probe, metrics scrape, the realtime resync watcher: must answer within a second.
PROBE = Purpose("probe", socket_timeout=1, connect_timeout=1)
#: Rate limits in a request or a send (ingestion, notifications); they fail open on errors.
RATE_LIMIT = Purpose("rate_limit", socket_timeout=2, connect_timeout=2)
#: Live socket statistics of the realtime layer.
REALTIME = Purpose("realtime", socket_timeout=2, connect_timeout=2)
#: The analytics ingestion buffer (a Redis stream): the flusher reads thousands of entries a call.
BUFFER = Purpose("buffer", socket_timeout=5, connect_timeout=2)

_lock = threading.Lock()
_pid = os.getpid()
_sync: dict[tuple[str, Purpose], Any] = {}
#: Django cache clients (``RedisCacheClient``), by (class, servers, options).
_cache_clients: dict[tuple, Any] = {}
#: id(loop) -> (loop, {(url, purpose): client}); the loop is kept to tell a reused id apart.
_async: dict[int, tuple[asyncio.AbstractEventLoop, dict[tuple[str, Purpose], Any]]] = {}


def _forget_if_forked() -> None:
    """In a forked child, drop the parent's clients without closing them (their sockets are the
    parent's). Called with ``_lock`` held."""
    global _pid
    if _pid != os.getpid():
        _pid = os.getpid()
        _sync.clear()
        _async.clear()
        _cache_clients.clear()


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.Lock()  # another thread may have held it at the fork
    _forget_if_forked()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _kwargs(purpose: Purpose) -> dict[str, float]:
    return {"socket_timeout": purpose.socket_timeout, "socket_connect_timeout": purpose.connect_timeout}


def sync_client(url: str, purpose: Purpose):
    """This process's ``redis.Redis`` for ``url`` and ``purpose`` (built on first use)."""
    key = (url, purpose)
    with _lock:
        _forget_if_forked()
        client = _sync.get(key)
        if client is None:
            import redis

            client = _sync[key] = redis.Redis.from_url(url, **_kwargs(purpose))
        return client


def async_client(url: str, purpose: Purpose):
    """The running event loop's ``redis.asyncio.Redis`` for ``url`` and ``purpose``."""
    loop = asyncio.get_running_loop()
    with _lock:
        _forget_if_forked()
        entry = _async.get(id(loop))
        if entry is None or entry[0] is not loop:  # ids of closed loops are reused
            # Clients of closed loops cannot be closed any more (that needs their loop): dropped.
            for loop_id in [i for i, (other, _) in _async.items() if other.is_closed()]:
                del _async[loop_id]
            entry = _async[id(loop)] = (loop, {})
        clients = entry[1]
        client = clients.get((url, purpose))
        if client is None:
            import redis.asyncio as aioredis

            client = clients[(url, purpose)] = aioredis.Redis.from_url(url, **_kwargs(purpose))
        return client


def cache_client(client_class, servers: list[str], options: dict[str, Any]):
    """This process's Django cache client (``RedisCacheClient``, which keeps its connection pools)
    for these servers and options: under ASGI Django builds a cache backend per request, and each
    would otherwise open its own pool."""
    key = (client_class, tuple(servers), repr(sorted(options.items())))
    with _lock:
        _forget_if_forked()
        client = _cache_clients.get(key)
        if client is None:
            client = _cache_clients[key] = client_class(servers, **options)
        return client


def reset() -> None:
    """Close this process's sync clients and forget every client (tests)."""
    with _lock:
        clients = list(_sync.values())
        _sync.clear()
        _async.clear()
        _cache_clients.clear()
    for client in clients:
        with contextlib.suppress(Exception):  # a client of a dead Redis: nothing to release
            client.close()
