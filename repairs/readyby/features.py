"""Snapshots of repairs for the ready-by model: one row per ticket at check-in and after each status
change until it was ready (training, from the status log), or one row for a ticket now (prediction).

Everything is measured on the *shop's clock*: working hours (``calendar``) minus the time spent
waiting for the customer's approval, which is theirs, not the shop's.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from revivatech import money

from ..lifecycle import Status
from ..models import RepairTicket
from ..selectors import status_events
from .calendar import WorkingCalendar
from .faults import fault_category

CATEGORICAL = ("kind", "brand", "fault", "status", "priority")
NUMERIC = (
    "quote",
    "elapsed_hours",
    "parts_hours",
    "in_parts_wait",
    "approval_done",
    "qc_fails",
    "tech_queue",
    "shop_queue",
    "has_technician",
    "weekday",
    "hour",
)
FEATURES = (*CATEGORICAL, *NUMERIC)

#: Statuses in which the device is in the shop and being worked on (or waited on).
IN_SHOP = frozenset(
    {
        Status.RECEIVED,
        Status.DIAGNOSING,
        Status.AWAITING_APPROVAL,
        Status.APPROVED,
        Status.AWAITING_PARTS,
        Status.IN_REPAIR,
        Status.QUALITY_CHECK,
    }
)
#: Where a repair's clock ends: ready, or given up.
ENDS = frozenset({Status.READY_FOR_PICKUP, Status.COLLECTED, Status.CANCELLED, Status.UNREPAIRABLE})


@dataclass
class History:
    """One ticket's facts and status log (``changes``: (status entered, when), in order)."""

    ticket_id: int
    kind: str
    brand: str
    fault: str
    priority: str
    quote: float  # major units; NaN when unknown
    technician_id: int | None
    changes: list[tuple[str, datetime]] = field(default_factory=list)

    @property
    def checked_in(self) -> datetime | None:
        return next((at for status, at in self.changes if status == Status.RECEIVED), None)

    @property
    def ready_at(self) -> datetime | None:
        return next((at for status, at in self.changes if status == Status.READY_FOR_PICKUP), None)

    @property
    def ended_at(self) -> datetime | None:
        return next((at for status, at in self.changes if status in ENDS), None)

    def intervals(self, status: str) -> list[tuple[datetime, datetime | None]]:
        """When the ticket sat in ``status`` (the last interval may still be open: None)."""
        spans = []
        for index, (entered, at) in enumerate(self.changes):
            if entered == status:
                left = self.changes[index + 1][1] if index + 1 < len(self.changes) else None
                spans.append((at, left))
        return spans


class ShopClock:
    """Working hours from a ticket's check-in, not counting the time waiting for the customer."""

    def __init__(self, calendar: WorkingCalendar, history: History):
        self.cal = calendar
        self.start = calendar.clock(history.checked_in) if history.checked_in else None
        self.waits = [
            (calendar.clock(a), calendar.clock(b) if b is not None else math.inf)
            for a, b in history.intervals(Status.AWAITING_APPROVAL)
        ]
        self.parts = [
            (calendar.clock(a), calendar.clock(b) if b is not None else math.inf)
            for a, b in history.intervals(Status.AWAITING_PARTS)
        ]

    @staticmethod
    def _overlap(spans, lo: float, hi: float) -> float:
        return sum(max(0.0, min(b, hi) - max(a, lo)) for a, b in spans)

    def hours(self, moment: datetime) -> float:
        """Shop hours from check-in to ``moment``."""
        if self.start is None:
            return 0.0
        now = self.cal.clock(moment)
        return max(0.0, now - self.start - self._overlap(self.waits, self.start, now)) / 3600.0

    def parts_hours(self, moment: datetime) -> float:
        if self.start is None:
            return 0.0
        return self._overlap(self.parts, self.start, self.cal.clock(moment)) / 3600.0


def _quote(amount: int | None, currency: str) -> float:
    """The quote in major units as a model feature (the one money module knows each exponent)."""
    return float(money.minor_to_decimal(amount, currency)) if amount is not None else math.nan


def _history_rows(tickets) -> list[History]:
    return [
        History(
            ticket_id=t["pk"],
            kind=t["device__kind"] or "other",
            brand=(t["device__brand"] or "").strip().lower() or "unknown",
            fault=fault_category(t["problem_description"]),
            priority=t["priority"],
            quote=_quote(t["quote_amount"], t["quote_currency"]),
            technician_id=t["assigned_technician_id"],
        )
        for t in tickets
    ]


_TICKET_FIELDS = (
    "pk",
    "device__kind",
    "device__brand",
    "problem_description",
    "priority",
    "quote_amount",
    "quote_currency",
    "assigned_technician_id",
)


def load_histories(until: datetime | None = None, ticket_ids: list[int] | None = None) -> list[History]:
    """Every checked-in ticket (or those of ``ticket_ids``) with its status log (changes after ``until``
    left out)."""
    checked_in = status_events(Status.RECEIVED).order_by().values("ticket_id")
    tickets = RepairTicket.objects.filter(pk__in=checked_in)
    if ticket_ids is not None:
        tickets = tickets.filter(pk__in=ticket_ids)
    histories = {h.ticket_id: h for h in _history_rows(tickets.values(*_TICKET_FIELDS))}
    changes = status_events().filter(ticket_id__in=list(histories))
    if until is not None:
        changes = changes.filter(created_at__lte=until)
    for ticket_id, status, at in changes.values_list("ticket_id", "entered", "created_at").iterator(2000):
        histories[ticket_id].changes.append((status, at))
    return [h for h in histories.values() if h.checked_in is not None]


class Queues:
    """How many checked-in repairs were open at an instant: in the whole shop and per technician."""

    def __init__(self, histories: list[History]):
        self.starts: dict[int | None, list[float]] = defaultdict(list)
        self.ends: dict[int | None, list[float]] = defaultdict(list)
        for h in histories:
            start = h.checked_in.timestamp()
            end = h.ended_at.timestamp() if h.ended_at else math.inf
            for key in {None, h.technician_id} if h.technician_id else {None}:
                self.starts[key].append(start)
                self.ends[key].append(end)
        for key in self.starts:
            self.starts[key].sort()
            self.ends[key].sort()

    def open_at(self, moment: datetime, technician_id: int | None = None) -> int:
        t = moment.timestamp()
        starts, ends = self.starts.get(technician_id, []), self.ends.get(technician_id, [])
        return bisect.bisect_right(starts, t) - bisect.bisect_right(ends, t)


def snapshot(
    history: History,
    clock: ShopClock,
    status: str,
    moment: datetime,
    *,
    tech_queue: int,
    shop_queue: int,
    calendar: WorkingCalendar,
) -> dict:
    """The feature row of ``history`` at ``moment`` when its status is ``status``."""
    seen = [s for s, at in history.changes if at <= moment]
    local = moment.astimezone(calendar.tz)
    return {
        "kind": history.kind,
        "brand": history.brand,
        "fault": history.fault,
        "status": status,
        "priority": history.priority,
        # The lifecycle needs a quote before asking for approval: known from then on.
        "quote": history.quote
        if Status.AWAITING_APPROVAL in seen or status == Status.AWAITING_APPROVAL
        else math.nan,
        "elapsed_hours": clock.hours(moment),
        "parts_hours": clock.parts_hours(moment),
        "in_parts_wait": float(status == Status.AWAITING_PARTS),
        "approval_done": float(Status.APPROVED in seen),
        "qc_fails": float(
            sum(
                1
                for a, b in zip(seen, seen[1:], strict=False)
                if (a, b) == (Status.QUALITY_CHECK, Status.IN_REPAIR)
            )
        ),
        "tech_queue": float(tech_queue),
        "shop_queue": float(shop_queue),
        "has_technician": float(history.technician_id is not None),
        "weekday": float(local.weekday()),
        "hour": float(local.hour),
    }


@dataclass
class TrainingRow:
    ticket_id: int
    checked_in: datetime
    at_check_in: bool
    features: dict
    target_hours: float  # shop hours still needed at the snapshot
    total_hours: float  # shop hours from check-in to ready


def training_rows(histories: list[History], calendar: WorkingCalendar) -> list[TrainingRow]:
    """Snapshots of every repair that reached "ready", at check-in and at each change before ready."""
    queues = Queues(histories)
    rows = []
    for h in histories:
        ready = h.ready_at
        if ready is None:
            continue
        clock = ShopClock(calendar, h)
        total = clock.hours(ready)
        checked_in = h.checked_in
        for status, at in h.changes:
            if at < checked_in or at >= ready or status not in IN_SHOP:
                continue
            features = snapshot(
                h,
                clock,
                status,
                at,
                tech_queue=queues.open_at(at, h.technician_id) if h.technician_id else 0,
                shop_queue=queues.open_at(at),
                calendar=calendar,
            )
            rows.append(
                TrainingRow(
                    h.ticket_id,
                    checked_in,
                    status == Status.RECEIVED and at == checked_in,
                    features,
                    max(0.0, total - features["elapsed_hours"]),
                    total,
                )
            )
    return rows


def live_snapshot(ticket: RepairTicket, calendar: WorkingCalendar, now: datetime | None = None) -> dict:
    """The feature row of an open ticket now. A ticket not yet checked in is described as if it were
    checked in now (what the customer wants to know when booking)."""
    now = now or timezone.now()
    history = _history_rows(RepairTicket.objects.filter(pk=ticket.pk).values(*_TICKET_FIELDS))[0]
    history.changes = list(status_events().filter(ticket=ticket).values_list("entered", "created_at"))
    status = ticket.status
    if history.checked_in is None:
        history.changes.append((Status.RECEIVED, now))
        status = Status.RECEIVED
    open_in_shop = RepairTicket.objects.filter(status__in=IN_SHOP).exclude(pk=ticket.pk)
    # Counted like a training snapshot: the ticket itself is in its queue (+ 1).
    tech_queue = (
        open_in_shop.filter(assigned_technician_id=history.technician_id).count() + 1
        if history.technician_id
        else 0
    )
    return snapshot(
        history,
        ShopClock(calendar, history),
        status,
        now,
        tech_queue=tech_queue,
        shop_queue=open_in_shop.count() + 1,
        calendar=calendar,
    )
