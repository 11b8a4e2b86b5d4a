"""``ws/dashboard/``: the live dashboard socket (staff only).

Opened with the page's filters as query parameters (``?range=7d&device_type=mobile``). Anyone but
shop staff is accepted and closed at once with 4403, before any data. Staff get a ``snapshot``
(the whole dashboard), then:

* ``update`` – the whole dashboard again, recomputed a moment after a ``dashboard.tick`` (ticks
  arriving meanwhile coalesce) and every ``DASHBOARD_REFRESH_SECONDS`` anyway;
* ``activity`` – new activity-feed items matching the segment, as they are stored;
* ``alert`` – ``{"type": "alert", "alert": {...}}`` from analytics.monitoring.

Client frames: ``{"type": "ping"}``; ``{"type": "filters", "filters": {...query parameters}}``
(answered by a new snapshot, or an ``error`` frame when invalid).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django.conf import settings
from rest_framework import serializers

from revivatech.roles import is_shop_staff
from revivatech.sockets import JsonSocket

from .filters import DashboardFilters
from .realtime import DASHBOARD_GROUP
from .serializers import DashboardSerializer, parse_filters


def _first_error(exc: serializers.ValidationError) -> str:
    detail = exc.detail
    if isinstance(detail, dict):
        field, messages = next(iter(detail.items()))
        message = messages[0] if isinstance(messages, list) else messages
        return f"{field}: {message}"
    return str(detail)


def _dashboard(filters: DashboardFilters) -> dict[str, Any]:
    from .services import build_dashboard

    return DashboardSerializer(build_dashboard(filters)).data


class DashboardConsumer(JsonSocket):
    not_a_message_error = 'Send {"type": "ping"} or {"type": "filters", "filters": {...}}.'

    filters: DashboardFilters | None = None
    refresh_task: asyncio.Task | None = None
    periodic_task: asyncio.Task | None = None
    joined = False

    async def connect(self) -> None:
        if not await database_sync_to_async(is_shop_staff)(self.scope.get("user")):
            await self.refuse()
            return
        raw = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        error = None
        try:
            self.filters = parse_filters({key: values[-1] for key, values in raw.items()})
        except serializers.ValidationError as exc:
            error = _first_error(exc)
            self.filters = parse_filters({})
        # Join before reading, so nothing stored in between is missed.
        await self.channel_layer.group_add(DASHBOARD_GROUP, self.channel_name)
        self.joined = True
        await self.accept()
        if error:
            await self.send_error(f"{error} Showing the default view.")
        await self.send_dashboard("snapshot")
        self.periodic_task = asyncio.create_task(self._periodic())

    async def disconnect(self, code: int) -> None:
        for task in (self.refresh_task, self.periodic_task):
            if task:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self.joined:
            await self.channel_layer.group_discard(DASHBOARD_GROUP, self.channel_name)

    async def send_dashboard(self, kind: str) -> None:
        data = await database_sync_to_async(_dashboard)(self.filters)
        await self.send_json({"type": kind, "data": data, "query": self.filters.as_query()})

    async def _periodic(self) -> None:
        while True:
            await asyncio.sleep(max(1, settings.DASHBOARD_REFRESH_SECONDS))
            await self.send_dashboard("update")

    async def _refresh_soon(self) -> None:
        await asyncio.sleep(settings.DASHBOARD_TICK_DELAY_MS / 1000)
        self.refresh_task = None
        await self.send_dashboard("update")

    # --- group messages ---

    async def dashboard_tick(self, message: dict[str, Any]) -> None:
        if self.refresh_task is None:
            self.refresh_task = asyncio.create_task(self._refresh_soon())

    async def dashboard_activity(self, message: dict[str, Any]) -> None:
        segment = self.filters.segment
        items = [item for item in message.get("items", []) if segment.matches(item)]
        if items:
            await self.send_json({"type": "activity", "items": items})

    async def dashboard_alert(self, message: dict[str, Any]) -> None:
        await self.send_json({"type": "alert", "alert": message.get("alert", {})})

    # --- client frames ---

    async def handle_client_message(self, content: dict[str, Any]) -> None:
        kind = content["type"]
        if kind == "ping":
            await self.send_json({"type": "pong"})
        elif kind == "filters" and isinstance(content.get("filters"), dict):
            try:
                self.filters = parse_filters({str(k): str(v) for k, v in content["filters"].items()})
            except serializers.ValidationError as exc:
                await self.send_error(_first_error(exc))
                return
            await self.send_dashboard("snapshot")
        else:
            await self.send_error(self.not_a_message_error)
