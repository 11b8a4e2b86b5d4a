"""revivatech.redis_clients: one Redis client per process (and per event loop for asyncio)."""

from __future__ import annotations

import asyncio
import os

import pytest

from revivatech import redis_clients

URL = "redis://127.0.0.1:1/0"  # building a client connects nowhere yet


@pytest.fixture(autouse=True)
def _fresh_clients():
    redis_clients.reset()
    yield
    redis_clients.reset()


def test_one_sync_client_per_url_and_purpose_with_the_purposes_time_outs():
    client = redis_clients.sync_client(URL, redis_clients.PROBE)
    assert redis_clients.sync_client(URL, redis_clients.PROBE) is client
    assert redis_clients.sync_client(URL, redis_clients.BUFFER) is not client
    assert redis_clients.sync_client("redis://127.0.0.1:1/1", redis_clients.PROBE) is not client
    options = client.connection_pool.connection_kwargs
    assert (options["socket_timeout"], options["socket_connect_timeout"]) == (1, 1)
    options = redis_clients.sync_client(URL, redis_clients.BUFFER).connection_pool.connection_kwargs
    assert (options["socket_timeout"], options["socket_connect_timeout"]) == (5, 2)


def test_reset_gives_new_clients():
    client = redis_clients.sync_client(URL, redis_clients.PROBE)
    redis_clients.reset()
    assert redis_clients.sync_client(URL, redis_clients.PROBE) is not client


def test_a_forked_child_builds_its_own_client():
    parent = redis_clients.sync_client(URL, redis_clients.PROBE)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: answer through the pipe, never return into pytest
        try:
            child = redis_clients.sync_client(URL, redis_clients.PROBE)
            fresh = child is not parent and redis_clients.sync_client(URL, redis_clients.PROBE) is child
            os.write(write_end, b"1" if fresh else b"0")
        finally:
            os._exit(0)
    os.close(write_end)
    answer = os.read(read_end, 1)
    os.close(read_end)
    os.waitpid(pid, 0)
    assert answer == b"1"
    assert redis_clients.sync_client(URL, redis_clients.PROBE) is parent  # the parent keeps its own


def test_one_async_client_per_event_loop():
    async def twice():
        first = redis_clients.async_client(URL, redis_clients.REALTIME)
        assert redis_clients.async_client(URL, redis_clients.REALTIME) is first
        assert redis_clients.async_client(URL, redis_clients.PROBE) is not first
        return first

    first_loop = asyncio.new_event_loop()
    first = first_loop.run_until_complete(twice())
    first_loop.close()
    second = asyncio.run(twice())
    assert second is not first  # the first client's connections belonged to a closed loop
    assert redis_clients.sync_client(URL, redis_clients.REALTIME) is not first


def test_the_async_client_needs_a_running_loop():
    with pytest.raises(RuntimeError):
        redis_clients.async_client(URL, redis_clients.REALTIME)


@pytest.mark.redis
def test_async_clients_work_on_each_new_loop(settings):
    """A client reused on a second loop fails ("attached to a different loop"); one per loop works."""
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")

    async def ping():
        return await redis_clients.async_client(settings.REDIS_URL, redis_clients.PROBE).ping()

    assert asyncio.run(ping()) is True
    assert asyncio.run(ping()) is True


def test_every_django_cache_backend_of_a_process_shares_one_client():
    """Django builds a cache backend per request context under ASGI; with the project's backend
    they all share one client, so one connection pool (revivatech/cache.py)."""
    from django.core.cache import CacheHandler

    settings_ = {"default": {"BACKEND": "revivatech.cache.SharedRedisCache", "LOCATION": URL}}
    first, second = CacheHandler(settings_), CacheHandler(settings_)  # as two request contexts would
    assert first["default"] is not second["default"]
    assert first["default"]._cache is second["default"]._cache
    pool = first["default"]._cache._get_connection_pool(write=True)
    assert second["default"]._cache._get_connection_pool(write=True) is pool
    other = {"default": {"BACKEND": "revivatech.cache.SharedRedisCache", "LOCATION": URL + "1"}}
    assert CacheHandler(other)["default"]._cache is not first["default"]._cache
