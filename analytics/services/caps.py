"""Bounded dimensions: whatever strangers send, the rollups keep a bounded number of rows.

Paths that are pages of the site (they resolve to one of its URL patterns, normalised to the
route: ``/track/{token}/``) are always kept. Other paths are kept as sent for the first
``ANALYTICS_MAX_UNKNOWN_PATHS_PER_DAY`` distinct ones of each UTC day, and the values of
utm_source, utm_medium and utm_campaign for the first ``ANALYTICS_MAX_UTM_VALUES_PER_DAY`` of each;
later ones are stored and counted as ``"(other)"``. Nothing is dropped: the events still count.

The admitted values live in :class:`~analytics.models.DailyDimensionValue`, written in the storing
transaction (flushes are serialised), so the caps are exact across processes and restarts.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any

from django.conf import settings

from ..models import DailyDimensionValue, EventType

OTHER = "(other)"
PATH = "path"
UTM_DIMENSIONS = ("utm_source", "utm_medium", "utm_campaign")


def _day(ms: int) -> date:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).date()


def _unknown_path(event: list) -> str | None:
    """The event's path if it is not a page of the site (events without the mark, from older
    buffered batches, count as unknown: the safe side)."""
    path = event[2]
    if not path or path == OTHER or (len(event) > 4 and event[4]):
        return None
    return path


def _utm(event: list) -> dict[str, Any]:
    if event[0] != EventType.PAGEVIEW or not isinstance(event[3], dict):
        return {}
    utm = event[3].get("utm")
    return utm if isinstance(utm, dict) else {}


def cap_dimensions(batches: list[dict[str, Any]]) -> None:
    """Rewrite, in place, unknown paths and UTM values beyond the day's caps to ``"(other)"``."""
    wanted: dict[tuple[date, str], dict[str, None]] = defaultdict(dict)  # ordered: first seen first
    days: dict[int, date] = {}  # a flush spans a day or two: one date per day, not per event
    for batch in batches:
        for event in batch["ev"]:
            day_index = event[1] // 86_400_000
            day = days.get(day_index)
            if day is None:
                day = days[day_index] = _day(event[1])
            path = _unknown_path(event)
            if path:
                wanted[(day, PATH)][path] = None
            for key, value in _utm(event).items():
                if key in UTM_DIMENSIONS and value and value != OTHER:
                    wanted[(day, key)][str(value)] = None
    if not wanted:
        return
    admitted: dict[tuple[date, str], set[str]] = defaultdict(set)
    stored = DailyDimensionValue.objects.filter(day__in={day for day, _ in wanted}).values_list(
        "day", "dimension", "value"
    )
    for day, dimension, value in stored:
        admitted[(day, dimension)].add(value)
    caps = {PATH: settings.ANALYTICS_MAX_UNKNOWN_PATHS_PER_DAY}
    caps.update(dict.fromkeys(UTM_DIMENSIONS, settings.ANALYTICS_MAX_UTM_VALUES_PER_DAY))
    new_rows = []
    refused = False
    for (day, dimension), values in wanted.items():
        have = admitted[(day, dimension)]
        for value in values:
            if value not in have:
                if len(have) < caps[dimension]:
                    have.add(value)
                    new_rows.append(DailyDimensionValue(day=day, dimension=dimension, value=value[:200]))
                else:
                    refused = True
    if new_rows:
        DailyDimensionValue.objects.bulk_create(new_rows, batch_size=500, ignore_conflicts=True)
    if not refused:  # the usual case: every value is admitted, nothing to rewrite
        return
    for batch in batches:
        for event in batch["ev"]:
            day = days[event[1] // 86_400_000]
            path = _unknown_path(event)
            if path and path not in admitted[(day, PATH)]:
                event[2] = OTHER
            utm = _utm(event)
            capped = {
                key: (
                    OTHER
                    if key in UTM_DIMENSIONS and value and str(value) not in admitted[(day, key)]
                    else value
                )
                for key, value in utm.items()
            }
            if capped != utm:
                event[3] = {**event[3], "utm": capped}
