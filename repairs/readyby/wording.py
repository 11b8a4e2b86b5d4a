"""Humane wording of an estimate: "Ready by Thursday afternoon, most likely between Wednesday 3 pm and
Friday noon", in the shop's time zone. Pure functions over plain values (no database)."""

from __future__ import annotations

from datetime import datetime, timedelta

from .calendar import WorkingCalendar


def clock_phrase(local: datetime) -> str:
    """``15:00`` → "3 pm", ``12:00`` → "noon", ``09:30`` → "9:30 am"."""
    if local.hour == 12 and local.minute == 0:
        return "noon"
    if local.hour == 0 and local.minute == 0:
        return "midnight"
    hour = local.hour % 12 or 12
    suffix = "am" if local.hour < 12 else "pm"
    return f"{hour} {suffix}" if local.minute == 0 else f"{hour}:{local.minute:02d} {suffix}"


def part_of_day(local: datetime) -> str:
    if local.hour < 12:
        return "morning"
    if local.hour < 17:
        return "afternoon"
    return "evening"


def day_phrase(local: datetime, now_local: datetime) -> str:
    """ "today", "tomorrow", a weekday within the coming week, else "Monday 14 December"."""
    days = (local.date() - now_local.date()).days
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow"
    if 1 < days < 7:
        return local.strftime("%A")
    return f"{local:%A} {local.day} {local:%B}"


def round_to_quarter(local: datetime, *, up: bool) -> datetime:
    """Round to a quarter hour (promises are not made to the minute)."""
    minutes = local.minute % 15
    if minutes == 0 and local.second == 0:
        return local.replace(second=0, microsecond=0)
    base = local.replace(second=0, microsecond=0) - timedelta(minutes=minutes)
    return base + timedelta(minutes=15) if up else base


def moment_phrase(moment: datetime, now: datetime, calendar: WorkingCalendar, *, up: bool = False) -> str:
    local = round_to_quarter(moment.astimezone(calendar.tz), up=up)
    return f"{day_phrase(local, now.astimezone(calendar.tz))} {clock_phrase(local)}"


def likely_phrase(moment: datetime, now: datetime, calendar: WorkingCalendar) -> str:
    """The most likely time, to the part of the day: "Thursday afternoon" ("today" → "this afternoon")."""
    local = moment.astimezone(calendar.tz)
    day = day_phrase(local, now.astimezone(calendar.tz))
    part = part_of_day(local)
    if day == "today":
        return f"this {part}" if part != "evening" else "this evening"
    if day == "tomorrow":
        return f"tomorrow {part}"
    return f"{day} {part}" if " " not in day else f"{day}, {part}"


def between_phrase(earliest: datetime, latest: datetime, now: datetime, calendar: WorkingCalendar) -> str:
    return (
        f"most likely between {moment_phrase(earliest, now, calendar)} "
        f"and {moment_phrase(latest, now, calendar, up=True)}"
    )


def duration_phrase(hours: float, calendar: WorkingCalendar) -> str:
    """Working time in words: "about 3 working hours", "about 2 working days"."""
    open_days = max(1, len(calendar.hours))
    per_day = calendar.hours_per_week() / open_days
    if hours < 1:
        return "under an hour of work"
    if hours < 0.75 * per_day:
        return f"about {round(hours)} working hour{'s' if round(hours) != 1 else ''}"
    days = hours / per_day
    if days < 1.5:
        return "about a working day"
    return f"about {round(days)} working days"
