"""Rate limits per channel and provider, shared by every worker.

Each limit is a sliding window: "at most N in any second / minute / hour / day", kept as a Redis
sorted set and checked and taken in one Lua call, on Redis's own clock, so any number of workers
on any number of machines hold it together (Celery's ``rate_limit`` is per worker instance).

Windows of a second or less are also *paced* (GCRA): sends are spread one every 1/N s with a
small burst allowance (``NOTIFICATIONS_RATE_BURST``, 5 % of N), so a saturated provider sees an
even stream instead of a burst of N at the start of every second, and workers wait milliseconds,
not most of a second. The sliding window stays the hard cap. Longer windows are quotas
(burst freely until used up).

Without Redis (the embedded default, tasks run in this process) the same logic runs in memory.

``NOTIFICATIONS_RATE_LIMITS`` reads ``"email:sendgrid=100/s;sms:twilio=10/s,10000/d"``; a
``channel:*`` entry limits the whole channel on top of its providers' own limits.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from revivatech import redis_clients

logger = logging.getLogger(__name__)

UNITS = {
    "s": 1.0,
    "sec": 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
}
#: When Redis cannot be asked, a message waits this long instead of being sent unmetered.
REDIS_DOWN_WAIT_SECONDS = 5.0


@dataclass(frozen=True)
class Limit:
    count: int
    window_seconds: float

    def __str__(self) -> str:
        unit = {1.0: "s", 60.0: "m", 3600.0: "h", 86400.0: "d"}.get(self.window_seconds)
        return f"{self.count}/{unit}" if unit else f"{self.count}/{self.window_seconds:g}s"


@lru_cache(maxsize=8)
def parse_limits(spec: str) -> dict[str, tuple[Limit, ...]]:
    """``"sms:twilio=10/s,1000/d;email:*=50/s"`` → {"sms:twilio": (10/s, 1000/d), ...}."""
    limits: dict[str, tuple[Limit, ...]] = {}
    for entry in filter(None, (part.strip() for part in spec.split(";"))):
        key, sep, values = entry.partition("=")
        key = key.strip()
        if not sep or ":" not in key:
            raise ImproperlyConfigured(
                f"NOTIFICATIONS_RATE_LIMITS: {entry!r} should look like channel:provider=10/s,1000/d"
            )
        parsed = []
        for value in filter(None, (v.strip() for v in values.split(","))):
            count, slash, unit = value.partition("/")
            try:
                number = int(count)
                window = UNITS[unit.strip().lower()] if slash else None
            except (ValueError, KeyError):
                window = None
                number = -1
            if window is None or number < 0:
                raise ImproperlyConfigured(
                    f"NOTIFICATIONS_RATE_LIMITS: {value!r} in {key} should be N/s, N/m, N/h or N/d"
                )
            parsed.append(Limit(number, window))
        limits[key] = tuple(parsed)
    return limits


def limits_for(channel: str, provider: str) -> list[tuple[str, Limit]]:
    """Every (bucket, limit) a send through ``provider`` on ``channel`` must respect."""
    configured = parse_limits(settings.NOTIFICATIONS_RATE_LIMITS_SPEC)
    buckets = []
    for key in (f"{channel}:{provider}", f"{channel}:*"):
        for limit in configured.get(key, ()):
            buckets.append((f"{key}:{limit.window_seconds:g}", limit))
    return buckets


# --- Redis -----------------------------------------------------------------------------------------

#: KEYS: one sorted set per window (its pacing state lives at KEY..":tat"). ARGV: a member id,
#: then per key: limit, window in ms, burst (sends allowed ahead of the pace; 0 = not paced).
#: Returns 0 when the send may go (recorded in every window), otherwise the milliseconds to wait.
_SLIDING_WINDOW_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local wait = 0
local tats = {}
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[3 * i - 1])
  local window = tonumber(ARGV[3 * i])
  local burst = tonumber(ARGV[3 * i + 1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  if count >= limit then
    if limit == 0 then
      wait = math.max(wait, window)
    else
      local blocking = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
      wait = math.max(wait, tonumber(blocking[2]) + window - now)
    end
  end
  if burst > 0 and limit > 0 then
    local interval = window / limit
    local tat = tonumber(redis.call('GET', key .. ':tat') or '0')
    if tat < now then tat = now end
    wait = math.max(wait, tat - interval * burst - now)
    tats[i] = tat + interval
  end
end
if wait > 0 then
  return math.max(1, math.ceil(wait * 1000))
end
for i, key in ipairs(KEYS) do
  local window = tonumber(ARGV[3 * i])
  redis.call('ZADD', key, now, ARGV[1])
  redis.call('PEXPIRE', key, window + 1000)
  if tats[i] then
    redis.call('SET', key .. ':tat', tostring(tats[i]), 'PX', math.ceil(window * 2 + 1000))
  end
end
return 0
"""

PACED_WINDOW_SECONDS = 1.0


def burst_for(limit: Limit) -> int:
    """Sends allowed ahead of the pace for per-second limits (0: not paced)."""
    if limit.window_seconds > PACED_WINDOW_SECONDS or limit.count == 0:
        return 0
    return max(1, int(limit.count * settings.NOTIFICATIONS_RATE_BURST))


_scripts: dict[str, Any] = {}
_scripts_lock = threading.Lock()


def _redis_script(url: str):
    client = redis_clients.sync_client(url, redis_clients.RATE_LIMIT)
    with _scripts_lock:
        script = _scripts.get(url)
        if script is None or script.registered_client is not client:  # a new client after a fork
            script = _scripts[url] = client.register_script(_SLIDING_WINDOW_LUA)
        return script


def acquire_in_redis(url: str, prefix: str, buckets: list[tuple[str, Limit]]) -> float:
    """One Lua call: take a send from every window, or say how long to wait (seconds)."""
    keys = [f"{prefix}:rate:{name}" for name, _ in buckets]
    args: list[object] = [uuid.uuid4().hex]
    for _, limit in buckets:
        args += [limit.count, int(limit.window_seconds * 1000), burst_for(limit)]
    try:
        waited_us = _redis_script(url)(keys=keys, args=args)
    except Exception:
        logger.warning("rate limiter: Redis did not answer; deferring the send", exc_info=True)
        return REDIS_DOWN_WAIT_SECONDS
    return int(waited_us) / 1_000_000.0


# --- in-process fallback (embedded default) ---------------------------------------------------------


class _LocalWindows:
    """The same sliding windows and pacing, in this process (no Redis)."""

    def __init__(self) -> None:
        self._windows: dict[str, deque[float]] = {}
        self._tats: dict[str, float] = {}
        self._lock = threading.Lock()

    def acquire(self, buckets: list[tuple[str, Limit]]) -> float:
        now = time.monotonic()
        with self._lock:
            wait = 0.0
            tats: dict[str, float] = {}
            for name, limit in buckets:
                window = self._windows.setdefault(name, deque())
                while window and window[0] <= now - limit.window_seconds:
                    window.popleft()
                if len(window) >= limit.count:
                    if limit.count == 0:
                        wait = max(wait, limit.window_seconds)
                    else:
                        wait = max(wait, window[len(window) - limit.count] + limit.window_seconds - now)
                burst = burst_for(limit)
                if burst:
                    interval = limit.window_seconds / limit.count
                    tat = max(self._tats.get(name, now), now)
                    wait = max(wait, tat - interval * burst - now)
                    tats[name] = tat + interval
            if wait > 0:
                return wait
            for name, _ in buckets:
                self._windows[name].append(now)
            self._tats.update(tats)
            return 0.0

    def clear(self) -> None:
        with self._lock:
            self._windows.clear()
            self._tats.clear()


_local = _LocalWindows()


def acquire(channel: str, provider: str) -> float:
    """Take one send from every window of this channel/provider: 0.0 when it may go now,
    otherwise the seconds to wait before asking again (nothing was taken)."""
    buckets = limits_for(channel, provider)
    if not buckets:
        return 0.0
    if settings.NOTIFICATIONS_REDIS_URL:
        return acquire_in_redis(
            settings.NOTIFICATIONS_REDIS_URL, settings.NOTIFICATIONS_REDIS_PREFIX, buckets
        )
    return _local.acquire(buckets)


def reset_local_windows() -> None:
    """Forget the in-process windows (tests)."""
    _local.clear()
