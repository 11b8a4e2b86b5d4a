"""Funnels and journeys for staff.

* **Funnel**: ordered steps (e.g. landing → book page → booking form started → booking completed →
  quote approved → paid), counted per *person* so steps done days later or on another device count:
  a person is the customer once linked (login, booking, or a server event about their ticket), else
  the consented device, else the day's anonymous visitor. A person reaches step *n* when they did
  it after reaching step *n − 1* (one event may do consecutive steps: landing on /book/ is also
  viewing it), so no step exceeds the one before it. Conversions by people who did not come
  through the earlier steps (a booking at the counter, a payment with no tracked visit) are
  reported as ``outside_funnel``, never as steps. The segment applies to where they entered
  (their first step).
  Reads only events of the step types in the date range (the (type, time) index, month partitions).
* **Journeys**: the ordered pages of each session in the range (kept on the session), their most
  common paths, and the most common paths between two pages.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .. import selectors
from ..models import EVENT_NAME_BY_TYPE, EVENT_TYPE_BY_NAME, EventType
from ..selectors import Segment
from .validation import normalise_path

FORM_TYPES = {EventType.FORM_START, EventType.FIELD_FOCUS, EventType.FORM_SUBMIT, EventType.FORM_ABANDON}


class ReportError(ValueError):
    """A report request that cannot be answered; the message says why."""


@dataclass(frozen=True)
class Step:
    name: str
    type: int
    #: Exact page for pageview steps, form for form steps, event name for custom steps.
    detail: str = ""

    def matches(self, event_type: int, path: str, props: dict[str, Any]) -> bool:
        if event_type != self.type:
            return False
        if not self.detail:
            return True
        if event_type == EventType.PAGEVIEW:
            return path == self.detail
        if event_type in FORM_TYPES:
            return props.get("form") == self.detail
        if event_type == EventType.CUSTOM:
            return props.get("name") == self.detail
        return True

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "type": EVENT_NAME_BY_TYPE[self.type], "detail": self.detail}


#: Conversions the server records (a booking, a quote approval, a payment): they may happen with no
#: tracked visit behind them (a booking at the counter, a payment by card reader or webhook), so
#: those are reported on their own line, never as funnel steps.
CONVERSION_TYPES = frozenset(
    {EventType.BOOKING_COMPLETED, EventType.QUOTE_APPROVED, EventType.PAYMENT_SUCCEEDED}
)
STEP_LABELS = {
    "landing": "Visited the site",
    "book_page": "Viewed the booking page",
    "form_started": "Started the booking form",
    "booking_completed": "Booked",
    "quote_approved": "Approved a quote",
    "paid": "Paid",
}
BOOKING_FORM = "/book/"
FUNNELS: dict[str, tuple[list[Step], str]] = {
    "booking": (
        [
            Step("landing", EventType.PAGEVIEW),
            Step("book_page", EventType.PAGEVIEW, "/book/"),
            Step("form_started", EventType.BOOKING_STARTED),
            Step("booking_completed", EventType.BOOKING_COMPLETED),
            Step("quote_approved", EventType.QUOTE_APPROVED),
            Step("paid", EventType.PAYMENT_SUCCEEDED),
        ],
        BOOKING_FORM,
    ),
}


def parse_steps(spec: str) -> list[Step]:
    """``pageview,pageview:/book/,form_start:/book/,booking_completed`` → steps."""
    steps = []
    for raw in [part.strip() for part in spec.split(",") if part.strip()]:
        type_name, _, detail = raw.partition(":")
        event_type = EVENT_TYPE_BY_NAME.get(type_name)
        if event_type is None:
            raise ReportError(
                f"Unknown event type {type_name!r} in steps; known: {', '.join(EVENT_TYPE_BY_NAME)}."
            )
        if event_type == EventType.PAGEVIEW and detail:
            detail = normalise_path(detail)
        steps.append(Step(raw, event_type, detail))
    if not 2 <= len(steps) <= 10:
        raise ReportError("A funnel needs between 2 and 10 steps.")
    return steps


def _person(row: dict[str, Any]) -> str | None:
    customer = row["customer_id"] or row["session__customer_id"]
    if customer:
        return f"c{customer}"
    if row["device_id"]:
        return f"d{row['device_id']}"
    if row["visitor_key"]:
        return f"v{row['visitor_key']}"
    return None


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def funnel(
    steps: list[Step],
    start: datetime,
    end: datetime,
    segment: Segment | None = None,
    form: str = "",
    form_step: int | None = None,
) -> dict[str, Any]:
    """Conversion and drop-off per step; with ``form``, how far people got in that form (per field)
    after step ``form_step`` and where those who did not reach the next step left it."""
    types = {step.type for step in steps} | (
        {EventType.FIELD_FOCUS, EventType.FORM_ABANDON} if form else set()
    )
    rows = (
        selectors.events_of_types(start, end, types)
        .order_by("occurred_at", "id")
        .values(
            "type",
            "occurred_at",
            "path",
            "props",
            "customer_id",
            "session_id",
            "session__customer_id",
            "device_id",
            "visitor_key",
            "device_type",
            "browser",
            "country",
            "utm_source",
        )
    )
    timeline: dict[str, list[dict[str, Any]]] = defaultdict(list)
    anonymous_conversions: Counter = Counter()  # conversions nobody can be named for
    for row in rows.iterator(chunk_size=5000):
        person = _person(row)
        if person is not None:
            timeline[person].append(row)
        elif row["type"] in CONVERSION_TYPES:
            anonymous_conversions[row["type"]] += 1
    conversion_steps = [i for i, step in enumerate(steps) if step.type in CONVERSION_TYPES and i]
    outside = {i: 0 for i in conversion_steps}  # people who converted without reaching the step
    outside_untracked = {i: 0 for i in conversion_steps}  # ... with no tracked visit behind it

    reached = [0] * len(steps)
    durations: list[list[float]] = [[] for _ in steps]
    field_reached: Counter = Counter()
    field_left: Counter = Counter()
    left_form = 0
    for events in timeline.values():
        position, times, form_time, fields, last_field = 0, [], None, set(), ""
        for row in events:
            event_type, props = row["type"], row["props"] or {}
            if form and form_time is not None and props.get("form") == form:
                if event_type == EventType.FIELD_FOCUS:
                    fields.add(props["field"])
                    last_field = props["field"]
                elif event_type == EventType.FORM_ABANDON and props.get("field"):
                    last_field = props["field"]
            if (
                position == 0
                and segment
                and steps[0].matches(event_type, row["path"], props)
                and not segment.matches(row)
            ):
                break  # entered outside the segment
            first_match = position
            # One event may do several consecutive steps (landing on /book/ is also viewing it),
            # but never the same step twice.
            while (
                position < len(steps)
                and (position == first_match or steps[position] != steps[position - 1])
                and steps[position].matches(event_type, row["path"], props)
            ):
                times.append(row["occurred_at"])
                if position == form_step:
                    form_time = row["occurred_at"]
                position += 1
        for index in conversion_steps:
            if index < position:
                continue
            step = steps[index]
            did = [row for row in events if step.matches(row["type"], row["path"], row["props"] or {})]
            if did:
                outside[index] += 1
                outside_untracked[index] += all(row["session_id"] is None for row in did)
        for index in range(position):
            reached[index] += 1
            if index:
                durations[index].append((times[index] - times[index - 1]).total_seconds())
        if form and form_step is not None and position > form_step:
            field_reached.update(fields)
            if position == form_step + 1:  # started the form, never reached the next step
                left_form += 1
                field_left[last_field or "(no field)"] += 1

    result_steps = []
    for index, step in enumerate(steps):
        previous = reached[index - 1] if index else reached[0]
        next_count = reached[index + 1] if index + 1 < len(steps) else None
        result_steps.append(
            {
                **step.describe(),
                "entered": reached[index],
                "conversion_from_previous": _rate(reached[index], previous),
                "conversion_from_start": _rate(reached[index], reached[0]),
                "drop_off": reached[index] - next_count if next_count is not None else None,
                "drop_off_rate": _rate(reached[index] - next_count, reached[index])
                if next_count is not None
                else None,
                "median_seconds_from_previous": round(statistics.median(durations[index]), 1)
                if durations[index]
                else None,
            }
        )
    report: dict[str, Any] = {
        "people": reached[0],
        "steps": result_steps,
        # Conversions in the range by people who did not come through the funnel's earlier steps
        # (e.g. booked at the counter, paid a quote approved before the range): counted here only.
        "outside_funnel": [
            {
                "name": steps[index].name,
                "label": STEP_LABELS.get(steps[index].name, steps[index].name),
                "people": outside[index] + anonymous_conversions[steps[index].type],
                "without_tracked_visit": outside_untracked[index] + anonymous_conversions[steps[index].type],
            }
            for index in conversion_steps
        ],
    }
    if form and form_step is not None:
        names = sorted(set(field_reached) | set(field_left), key=lambda f: (-field_reached[f], f))
        report["form"] = {
            "form": form,
            "after_step": steps[form_step].name,
            "started": reached[form_step],
            "left_without_next_step": left_form,
            "fields": [
                {"field": name, "reached": field_reached[name], "last_before_leaving": field_left[name]}
                for name in names
            ],
        }
    return report


def journeys(
    start: datetime,
    end: datetime,
    segment: Segment | None = None,
    from_page: str = "",
    to_page: str = "",
    limit: int = 10,
    max_steps: int = 6,
) -> dict[str, Any]:
    """Most common page paths of sessions in the range; with ``from_page`` and/or ``to_page``, the
    most common paths from one page to the other (first occurrence of each, in order)."""
    from_page = normalise_path(from_page) if from_page else ""
    to_page = normalise_path(to_page) if to_page else ""
    paths: Counter = Counter()
    sessions = with_start = reaching = 0
    pages_of = selectors.sessions_between(start, end, segment).values_list("pages", flat=True)
    for pages in pages_of.iterator(chunk_size=5000):
        pages = pages or []
        if not pages:
            continue
        sessions += 1
        first = 0
        if from_page:
            if from_page not in pages:
                continue
            first = pages.index(from_page)
            with_start += 1
        if to_page:
            try:
                last = pages.index(to_page, first + (1 if from_page else 0))
            except ValueError:
                continue
            reaching += 1
            begin = first if from_page else max(0, last - max_steps + 1)
            path = pages[begin : last + 1]
            if len(path) > max_steps:  # keep both ends of a long path
                path = [*path[: max_steps - 2], "…", path[-1]]
        else:
            path = pages[first : first + max_steps]
            if len(pages) - first > max_steps:
                path = [*path, "…"]
        paths[tuple(path)] += 1
    counted = reaching if to_page else (with_start if from_page else sessions)
    return {
        "sessions": sessions,
        "from_page": from_page or None,
        "to_page": to_page or None,
        "sessions_with_from_page": with_start if from_page else None,
        "sessions_reaching_to_page": reaching if to_page else None,
        "paths": [
            {"pages": list(path), "sessions": count, "share": _rate(count, counted)}
            for path, count in sorted(paths.items(), key=lambda item: (-item[1], item[0]))[:limit]
        ],
    }
