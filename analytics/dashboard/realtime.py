"""The dashboard's channel-layer group and what is pushed to it.

Every open dashboard socket joins :data:`DASHBOARD_GROUP`. Messages (``type`` is the consumer
handler, dots for underscores):

* ``dashboard.tick`` – figures changed (events stored, a ticket or payment changed): each socket
  recomputes its own filtered figures shortly after (ticks coalesce per socket);
* ``dashboard.activity`` with ``items`` – new activity-feed items (bookings, payments, rage clicks);
* ``dashboard.alert`` with ``alert`` – an anomaly alert raised or updated (analytics.monitoring).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache

logger = logging.getLogger(__name__)

DASHBOARD_GROUP = "analytics-dashboard"
#: At most one tick per this many seconds across processes (the sockets coalesce the rest).
TICK_MIN_INTERVAL_SECONDS = 1.0
_TICK_KEY = "analytics:dashboard:last-tick"


def push_to_dashboard(message: dict[str, Any]) -> None:
    """Send ``message`` (``{"type": "dashboard.<kind>", ...}``) to every open dashboard. Never raises:
    the dashboard is a view, losing a push only delays it until the next tick or refresh."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(DASHBOARD_GROUP, message)
    except Exception:
        logger.warning("dashboard: could not push %s", message.get("type"), exc_info=True)


def request_tick(reason: str) -> bool:
    """Tell open dashboards that figures changed; throttled across processes through the cache.
    A tick dropped by the throttle is covered by the one before it: sockets recompute a little
    after receiving a tick, so they read what was stored meanwhile."""
    now = time.time()
    try:
        last = cache.get(_TICK_KEY)
        if last is not None and now - float(last) < TICK_MIN_INTERVAL_SECONDS:
            return False
        cache.set(_TICK_KEY, now, timeout=60)
    except Exception:  # the cache is down: tick anyway
        logger.warning("dashboard: tick throttle unavailable", exc_info=True)
    push_to_dashboard({"type": "dashboard.tick", "reason": reason, "at": now})
    return True
