"""The shop's working-hours clock.

Durations of repairs are measured in working hours (a repair booked on Friday evening is not two days
late on Monday morning). :class:`WorkingCalendar` turns instants into "working seconds since an
anchor" and back, so "hours between" and "now plus N working hours" are two lookups, whatever the
weekends, holidays and daylight-saving changes in between.

Opening hours are read from settings (READY_BY_OPENING_HOURS, READY_BY_HOLIDAYS, TIME_ZONE) until
the shop has a profile with its own opening hours: :func:`shop_calendar` is the one place to change.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ANCHOR = date(2000, 1, 3)  # a Monday; instants before it count as the anchor
_ITEM = re.compile(r"^(?P<days>[a-z]{3}(?:-[a-z]{3})?)\s+(?P<open>\d{1,2}:\d{2})-(?P<close>\d{1,2}:\d{2})$")

Hours = dict[int, tuple[time, time]]  # weekday (0 = Monday) -> (opens, closes)


def parse_opening_hours(spec: str) -> Hours:
    """``"mon-fri 09:00-18:00, sat 10:00-16:00"`` → {0: (09:00, 18:00), …, 5: (10:00, 16:00)}."""
    hours: Hours = {}
    for raw in (spec or "").split(","):
        item = raw.strip().lower()
        if not item:
            continue
        match = _ITEM.match(item)
        if not match:
            raise ImproperlyConfigured(f"Opening hours item {raw.strip()!r}: use e.g. 'mon-fri 09:00-18:00'.")
        first, _, last = match["days"].partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ImproperlyConfigured(f"Opening hours item {raw.strip()!r}: days are mon … sun.")
        opens, closes = (time.fromisoformat(match[k].zfill(5)) for k in ("open", "close"))
        if closes <= opens:
            raise ImproperlyConfigured(f"Opening hours item {raw.strip()!r}: closes before it opens.")
        start, end = DAYS.index(first), DAYS.index(last or first)
        for day in range(start, end + 1) if end >= start else [*range(start, 7), *range(0, end + 1)]:
            hours[day] = (opens, closes)
    if not hours:
        raise ImproperlyConfigured("The shop must be open at least one day a week.")
    return hours


class WorkingCalendar:
    """Opening hours per weekday plus holidays, in one time zone. Immutable once built."""

    def __init__(self, hours: Hours, holidays: Iterable[date] = (), time_zone: str = "UTC"):
        self.hours = dict(hours)
        self.holidays = frozenset(holidays)
        self.tz = ZoneInfo(time_zone)
        self._intervals: list[tuple[datetime, datetime] | None] = []  # per day since ANCHOR
        self._ends: list[float] = []  # working seconds from ANCHOR to the end of each day

    # --- the per-day table, grown on demand ----------------------------------------------------------

    def interval(self, day: date) -> tuple[datetime, datetime] | None:
        """When the shop is open on ``day`` (aware datetimes), or None if closed."""
        if day in self.holidays or day.weekday() not in self.hours:
            return None
        opens, closes = self.hours[day.weekday()]
        # Local wall-clock times: a DST change (at night) never shifts the opening hours.
        return datetime.combine(day, opens, self.tz), datetime.combine(day, closes, self.tz)

    def _grow(self, index: int) -> None:
        while len(self._ends) <= index:
            i = len(self._ends)
            span = self.interval(ANCHOR + timedelta(days=i))
            self._intervals.append(span)
            seconds = (span[1] - span[0]).total_seconds() if span else 0.0
            self._ends.append((self._ends[-1] if self._ends else 0.0) + seconds)

    def _index(self, moment: datetime) -> int:
        if moment.tzinfo is None:
            raise ValueError("Working-hours arithmetic needs aware datetimes.")
        return max(0, (moment.astimezone(self.tz).date() - ANCHOR).days)

    # --- the clock -----------------------------------------------------------------------------------

    def clock(self, moment: datetime) -> float:
        """Working seconds from the anchor to ``moment`` (flat outside opening hours)."""
        index = self._index(moment)
        self._grow(index)
        before = self._ends[index - 1] if index else 0.0
        span = self._intervals[index]
        if span is None or moment <= span[0]:
            return before
        return before + (min(moment, span[1]) - span[0]).total_seconds()

    def at_clock(self, seconds: float, *, not_before: datetime | None = None) -> datetime:
        """The instant the working clock reads ``seconds`` (the earliest such instant: a closing time
        rather than the next opening)."""
        if not_before is not None and seconds <= self.clock(not_before):
            return not_before
        if not self._ends:
            self._grow(0)
        while self._ends[-1] < seconds:
            self._grow(len(self._ends) + 60)
        index = bisect.bisect_left(self._ends, seconds)
        before = self._ends[index - 1] if index else 0.0
        span = self._intervals[index]
        if span is None:  # only for seconds == 0 before any opening
            return datetime.combine(ANCHOR, time(), self.tz)
        return span[0] + timedelta(seconds=seconds - before)

    def hours_between(self, start: datetime, end: datetime) -> float:
        """Working hours from ``start`` to ``end`` (negative if ``end`` is earlier)."""
        return (self.clock(end) - self.clock(start)) / 3600.0

    def add_hours(self, start: datetime, hours: float) -> datetime:
        """``start`` plus ``hours`` working hours (``start`` itself for 0 or less)."""
        if hours <= 0:
            return start
        return self.at_clock(self.clock(start) + hours * 3600.0, not_before=start)

    def is_open(self, moment: datetime) -> bool:
        self._grow(self._index(moment))
        span = self._intervals[self._index(moment)]
        return span is not None and span[0] <= moment < span[1]

    def next_opening(self, moment: datetime) -> datetime:
        """``moment`` if the shop is open then, else when it next opens."""
        if self.is_open(moment):
            return moment
        return self.at_clock(self.clock(moment) + 1.0) - timedelta(seconds=1)

    def hours_per_week(self) -> float:
        return sum(
            (datetime.combine(ANCHOR, c) - datetime.combine(ANCHOR, o)).total_seconds() / 3600
            for o, c in self.hours.values()
        )


def parse_holidays(values: Iterable[str]) -> list[date]:
    days = []
    for value in values:
        try:
            days.append(date.fromisoformat(value.strip()))
        except ValueError as exc:
            raise ImproperlyConfigured(f"READY_BY_HOLIDAYS: {value!r} is not a YYYY-MM-DD date.") from exc
    return days


@lru_cache(maxsize=4)
def _cached(spec: str, holidays: tuple[str, ...], time_zone: str) -> WorkingCalendar:
    return WorkingCalendar(parse_opening_hours(spec), parse_holidays(holidays), time_zone)


def shop_calendar() -> WorkingCalendar:
    """The shop's calendar from settings. TODO when the shop profile has opening hours: read them here."""
    return _cached(settings.READY_BY_OPENING_HOURS, tuple(settings.READY_BY_HOLIDAYS), settings.TIME_ZONE)
