"""Django's Redis cache with one client, and so one connection pool, per process.

Under ASGI every request runs in its own context, and Django's cache handler builds a new backend
per context: each stock ``RedisCache`` then builds its own client and connection pool, a new Redis
connection per request (the DRF write limits, the booking limit, feature flags and the dashboard all
read the cache). This backend takes its client from revivatech/redis_clients.py instead.
"""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache
from django.utils.functional import cached_property

from . import redis_clients


class SharedRedisCache(RedisCache):
    @cached_property
    def _cache(self):
        return redis_clients.cache_client(self._class, self._servers, self._options)
