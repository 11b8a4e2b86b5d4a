"""The shop's details as pages, receipts and emails show them: name, address, phone, email,
opening hours per weekday, closed days ahead and VAT number (from the one :class:`ShopProfile`).

Emails store a plain-dict copy (:func:`shop_context`) with each message, so a message renders
the same later even if staff change the profile in between.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

_RANGE = re.compile(r"^\s*([01]\d|2[0-3]):([0-5]\d)\s*[-–]\s*([01]\d|2[0-3]):([0-5]\d)\s*$")
#: Closed days this far ahead are announced (footer, receipt, tracking page, emails).
CLOSURES_AHEAD_DAYS = 60


def parse_hours(text: str) -> list[tuple[str, str]]:
    """``"09:00-12:30, 13:30-17:30"`` → [("09:00", "12:30"), ("13:30", "17:30")]; "" → [] (closed)."""
    ranges = []
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        match = _RANGE.match(part)
        if not match:
            raise ValidationError(f"“{part}” is not a time range like 09:00-17:30.", code="invalid_hours")
        opens, closes = f"{match[1]}:{match[2]}", f"{match[3]}:{match[4]}"
        if closes <= opens:
            raise ValidationError(f"In “{part}” the shop closes before it opens.", code="invalid_hours")
        ranges.append((opens, closes))
    return ranges


def validate_hours(text: str) -> None:
    parse_hours(text)


@dataclass(frozen=True)
class DayHours:
    day: str
    text: str  # "09:00–17:30" or "Closed"
    is_today: bool = False


@dataclass(frozen=True)
class Closure:
    text: str  # "Thu 24 Dec – Sat 26 Dec: Christmas"


@dataclass(frozen=True)
class ShopDetails:
    name: str
    address_lines: list[str]
    phone: str
    email: str
    vat_number: str
    hours: list[DayHours] = field(default_factory=list)
    closures: list[Closure] = field(default_factory=list)

    @property
    def address_one_line(self) -> str:
        return ", ".join(self.address_lines)

    @property
    def phone_href(self) -> str:
        return "tel:" + re.sub(r"[^\d+]", "", self.phone)

    def as_context(self) -> dict[str, Any]:
        """Plain data for message templates (stored with each message)."""
        return {
            "name": self.name,
            "address_lines": list(self.address_lines),
            "address": self.address_one_line,
            "phone": self.phone,
            "email": self.email,
            "vat_number": self.vat_number,
            "hours": [{"day": h.day, "text": h.text} for h in self.hours],
            "hours_text": "; ".join(f"{h.day} {h.text}" for h in self.hours),
            "closures": [c.text for c in self.closures],
        }


def _day_text(raw: str) -> str:
    try:
        ranges = parse_hours(raw)
    except ValidationError:
        ranges = []
    return ", ".join(f"{opens}–{closes}" for opens, closes in ranges) or "Closed"


def _closure_text(first: date, last: date | None, reason: str) -> str:
    span = first.strftime("%a %-d %b")
    if last and last != first:
        span += " – " + last.strftime("%a %-d %b")
    return f"{span}: {reason}" if reason else span


def details_of(profile, closures, today: date) -> ShopDetails:
    from .models import WEEKDAY_FIELDS, WEEKDAY_NAMES

    return ShopDetails(
        name=profile.name,
        address_lines=[line.strip() for line in profile.address.splitlines() if line.strip()],
        phone=profile.phone,
        email=profile.email,
        vat_number=profile.vat_number,
        # No hours filled in at all means "not told yet", not "closed every day".
        hours=[
            DayHours(day, _day_text(getattr(profile, name)), is_today=index == today.weekday())
            for index, (name, day) in enumerate(zip(WEEKDAY_FIELDS, WEEKDAY_NAMES, strict=True))
        ]
        if any(getattr(profile, name).strip() for name in WEEKDAY_FIELDS)
        else [],
        closures=[Closure(_closure_text(c.first_day, c.last_day, c.reason)) for c in closures],
    )


def current_shop(today: date | None = None) -> ShopDetails:
    """The shop's details now, with the closed days of the next CLOSURES_AHEAD_DAYS days."""
    from django.db.models import Q

    from .models import ShopProfile

    today = today or timezone.localdate()
    profile = ShopProfile.load()
    horizon = today + timedelta(days=CLOSURES_AHEAD_DAYS)
    closures = profile.closures.filter(first_day__lte=horizon).filter(
        Q(last_day__gte=today) | Q(last_day__isnull=True, first_day__gte=today)
    )
    return details_of(profile, closures, today)


def shop_context() -> dict[str, Any]:
    return current_shop().as_context()
