"""The filters every dashboard panel applies: a date range (preset or custom, whole UTC days) and a
segment (device type, browser, country, UTM source). They travel as URL query parameters so a view
of the dashboard can be shared, and the same parameters open the WebSocket."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from ..selectors import Segment

PRESETS = {"today": 1, "7d": 7, "30d": 30}
DEFAULT_PRESET = "7d"
#: Ranges up to this many days are drawn hour by hour, longer ones day by day.
HOURLY_MAX_DAYS = 2


@dataclass(frozen=True)
class DashboardFilters:
    range: str  # "today", "7d", "30d" or "custom"
    first_day: date
    last_day: date
    segment: Segment

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time.min, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last_day + timedelta(days=1), time.min, tzinfo=UTC)

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    @property
    def granularity(self) -> str:
        return "hour" if self.days <= HOURLY_MAX_DAYS else "day"

    def as_dict(self) -> dict[str, Any]:
        return {
            "range": self.range,
            "from": self.first_day.isoformat(),
            "to": self.last_day.isoformat(),
            "granularity": self.granularity,
            "segment": self.segment.as_filter(),
        }

    def as_query(self) -> dict[str, str]:
        """The query parameters that give these filters back."""
        query = {"range": self.range, **self.segment.as_filter()}
        if self.range == "custom":
            query.update({"from": self.first_day.isoformat(), "to": self.last_day.isoformat()})
        return query


def preset_days(preset: str, today: date) -> tuple[date, date]:
    return today - timedelta(days=PRESETS[preset] - 1), today
