"""Reads of the ready-by prediction for pages, emails (notifications), staff lists and dashboards."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.db.models import F, Prefetch, Q, QuerySet
from django.utils import timezone

from revivatech import flags

from ..lifecycle import Status
from ..models import RepairTicket
from ..selectors import status_events
from .calendar import shop_calendar
from .features import IN_SHOP, ShopClock, load_histories
from .models import ReadyByEstimate, ReadyByMethod, ReadyByModel
from .predict import ESTIMATED_STATUSES, compute_estimate
from .wording import between_phrase, day_phrase, duration_phrase, likely_phrase, moment_phrase

APPROVAL_NOTE = "The clock stops while we wait for your approval: that time is yours, not ours."
BEFORE_APPROVAL_NOTE = (
    "This assumes you approve the quote soon after we send it: "
    "the clock stops while we wait for your approval."
)
PARTS_NOTE = "We are waiting for parts; the estimate allows for the usual delivery time."


def current_estimate(ticket: RepairTicket) -> ReadyByEstimate | None:
    """The stored estimate of the ticket's latest change (computed on the spot if none is stored yet)."""
    if ticket.status not in ESTIMATED_STATUSES:
        return None
    stored = ticket.ready_by_estimates.filter(current=True).order_by("-computed_at", "-pk").first()
    if stored is not None and stored.status == ticket.status:
        return stored
    return compute_estimate(ticket)


def _basis(estimate: ReadyByEstimate, ticket: RepairTicket) -> str:
    n = (estimate.features or {}).get("basis_repairs") or 0
    if estimate.method == ReadyByMethod.MODEL:
        text = f"Estimated from {n:,} past repairs like yours (device, fault, parts and how busy we are)."
        coverage = (estimate.model.metrics or {}).get("coverage") if estimate.model_id else None
        if coverage:  # measured on repairs the model never saw: how sure we are, honestly
            text += f" About {round(coverage * 10)} in 10 are ready within the range we give."
        return text
    if estimate.method == ReadyByMethod.MEDIAN_BY_KIND:
        return (
            f"A rough estimate: the usual time for a {ticket.device.get_kind_display().lower()} "
            f"repair here ({n:,} repairs). We do not have enough history yet for a closer one."
        )
    if estimate.method == ReadyByMethod.MEDIAN_ALL:
        return "A rough estimate from the usual time of our repairs: we do not have enough history yet."
    return "A rough estimate from typical repair times: we do not have enough repair history yet."


def present(
    ticket: RepairTicket, estimate: ReadyByEstimate | None, now: datetime | None = None
) -> dict | None:
    """What the customer is told (plain strings and ISO times, safe to send over the socket); None
    when there is nothing to tell, or the ``ready_by`` feature is off for this customer."""
    if ticket.status not in ESTIMATED_STATUSES:
        return None
    if not flags.is_active("ready_by", customer_id=ticket.customer_id):
        return None
    now = now or timezone.now()
    cal = shop_calendar()
    out: dict[str, Any] = {"state": "estimate", "note": "", "basis": "", "promised": None}
    if ticket.promised_ready_at is not None:
        promised = ticket.promised_ready_at
        out.update(
            state="promise", promised=promised.isoformat(), method="promise", likely=promised.isoformat()
        )
        if promised < now:
            out["headline"] = f"Running late: we promised {moment_phrase(promised, now, cal, up=True)}"
            out["detail"] = "Sorry for the wait. We will update you as soon as we know more."
        else:
            out["headline"] = f"Promised ready by {moment_phrase(promised, now, cal, up=True)}"
            out["detail"] = "Your technician has promised this time."
        return out
    if estimate is None:
        return None
    out["method"] = estimate.method
    out["basis"] = _basis(estimate, ticket)
    if ticket.status in (Status.AWAITING_APPROVAL, Status.BOOKED):
        # The clock has not started (or is stopped): dates count from now.
        earliest, likely, latest = (
            cal.add_hours(now, h) for h in (estimate.hours_p10, estimate.hours_p50, estimate.hours_p90)
        )
        if ticket.status == Status.BOOKED:
            out["state"] = "booked"
            out["headline"] = (
                f"{duration_phrase(estimate.hours_p50, cal).capitalize()} once we have your device"
            )
            drop_off = day_phrase(cal.next_opening(now).astimezone(cal.tz), now.astimezone(cal.tz))
            drop_off = drop_off if drop_off in ("today", "tomorrow") else f"on {drop_off}"
            out["detail"] = (
                f"Bring it in {drop_off} and it should be ready by {likely_phrase(likely, now, cal)}, "
                f"{between_phrase(earliest, latest, now, cal)}."
            )
            out["note"] = BEFORE_APPROVAL_NOTE
        else:
            out["state"] = "waiting_approval"
            out["headline"] = (
                f"{duration_phrase(estimate.hours_p50, cal).capitalize()} once you approve the quote"
            )
            out["detail"] = (
                f"Approve today and it should be ready by {likely_phrase(likely, now, cal)}, "
                f"{between_phrase(earliest, latest, now, cal)}."
            )
            out["note"] = APPROVAL_NOTE
    else:
        earliest, likely, latest = estimate.earliest, estimate.likely, estimate.latest
        if now > latest:
            out["state"] = "late"
            out["headline"] = "Taking a little longer than we expected"
            out["detail"] = (
                f"We expected it by {likely_phrase(likely, now, cal)}. "
                "We will update you as soon as we know more."
            )
        else:
            out["headline"] = f"Ready by {likely_phrase(likely, now, cal)}"
            out["detail"] = between_phrase(earliest, latest, now, cal).capitalize() + "."
            if ticket.status in (Status.RECEIVED, Status.DIAGNOSING):
                out["note"] = BEFORE_APPROVAL_NOTE
            elif ticket.status == Status.AWAITING_PARTS:
                out["note"] = PARTS_NOTE
    out.update(earliest=earliest.isoformat(), likely=likely.isoformat(), latest=latest.isoformat())
    return out


def customer_ready_by(ticket: RepairTicket, now: datetime | None = None) -> dict | None:
    """The ticket's current ready-by, worded for the customer (tracking page, emails), or None."""
    if ticket.status not in ESTIMATED_STATUSES:
        return None
    estimate = None if ticket.promised_ready_at else current_estimate(ticket)
    return present(ticket, estimate, now)


# --- staff: due soon, at risk, late ------------------------------------------------------------------

#: Open statuses in which the shop's clock runs (waiting for the customer is not the shop's lateness).
CLOCK_RUNNING = sorted(IN_SHOP - {Status.AWAITING_APPROVAL})


def _open_with_estimate() -> QuerySet[RepairTicket]:
    return RepairTicket.objects.filter(status__in=CLOCK_RUNNING, ready_by_estimates__current=True)


def late_tickets(now: datetime | None = None) -> QuerySet[RepairTicket]:
    """Past the promise, or past the end of the 80% interval."""
    now = now or timezone.now()
    return (
        _open_with_estimate()
        .filter(
            Q(promised_ready_at__lt=now)
            | Q(promised_ready_at__isnull=True, ready_by_estimates__latest__lt=now)
        )
        .distinct()
    )


def at_risk_tickets(now: datetime | None = None) -> QuerySet[RepairTicket]:
    """Not late yet, but past the most likely time, or predicted to miss the promise."""
    now = now or timezone.now()
    return (
        _open_with_estimate()
        .filter(
            Q(promised_ready_at__gte=now, ready_by_estimates__likely__gt=F("promised_ready_at"))
            | Q(
                promised_ready_at__isnull=True,
                ready_by_estimates__likely__lt=now,
                ready_by_estimates__latest__gte=now,
            )
        )
        .distinct()
    )


def due_soon_tickets(now: datetime | None = None) -> QuerySet[RepairTicket]:
    """Most likely ready (or promised) within the next READY_BY_DUE_SOON_HOURS working hours."""
    now = now or timezone.now()
    horizon = shop_calendar().add_hours(now, settings.READY_BY_DUE_SOON_HOURS)
    return (
        _open_with_estimate()
        .filter(
            Q(promised_ready_at__gte=now, promised_ready_at__lte=horizon)
            | Q(
                promised_ready_at__isnull=True,
                ready_by_estimates__likely__gte=now,
                ready_by_estimates__likely__lte=horizon,
            )
        )
        .distinct()
    )


def watch_list(now: datetime | None = None, limit: int = 200) -> list[dict]:
    """Open repairs that are late, at risk or due soon, most urgent first (the staff page)."""
    now = now or timezone.now()
    rows: list[dict] = []
    seen: set[int] = set()
    for label, tickets in (
        ("late", late_tickets(now)),
        ("at_risk", at_risk_tickets(now)),
        ("due_soon", due_soon_tickets(now)),
    ):
        current = Prefetch(
            "ready_by_estimates", ReadyByEstimate.objects.filter(current=True), to_attr="current"
        )
        for ticket in (
            tickets.select_related("device", "assigned_technician")
            .prefetch_related(current)
            .order_by("pk")[:limit]
        ):
            if ticket.pk in seen:
                continue
            seen.add(ticket.pk)
            rows.append({"ticket": ticket, "estimate": next(iter(ticket.current), None), "risk": label})
    return rows


# --- accuracy: what we said at check-in against what happened -------------------------------------


def accuracy_by_week(weeks: int = 12, now: datetime | None = None) -> list[dict]:
    """Per week of readiness: repairs, mean absolute error (working hours) of the check-in estimate
    and the share that ended inside its 80% interval. Oldest week first."""
    now = now or timezone.now()
    since = now - timedelta(weeks=weeks)
    estimates = {}
    for estimate in (
        ReadyByEstimate.objects.filter(
            status=Status.RECEIVED,
            ticket_id__in=status_events(Status.READY_FOR_PICKUP)
            .filter(created_at__gte=since)
            .order_by()
            .values("ticket_id"),
        )
        .order_by("ticket_id", "computed_at", "pk")
        .only("ticket_id", "elapsed_hours", "hours_p10", "hours_p50", "hours_p90", "method")[:5000]
    ):
        estimates.setdefault(estimate.ticket_id, estimate)  # the first: at check-in
    if not estimates:
        return []
    cal = shop_calendar()
    buckets: dict[datetime, list[tuple[float, bool]]] = {}
    for history in load_histories(ticket_ids=list(estimates)):
        ready = history.ready_at
        if ready is None or ready < since:
            continue
        e = estimates[history.ticket_id]
        actual = ShopClock(cal, history).hours(ready) - e.elapsed_hours
        local = ready.astimezone(cal.tz)
        week = (local - timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
        buckets.setdefault(week, []).append((abs(actual - e.hours_p50), e.hours_p10 <= actual <= e.hours_p90))
    return [
        {
            "week": week,
            "repairs": len(values),
            "mae_hours": round(float(np.mean([v[0] for v in values])), 1),
            "coverage": round(float(np.mean([v[1] for v in values])), 2),
        }
        for week, values in sorted(buckets.items())
    ]


def latest_model() -> ReadyByModel | None:
    return ReadyByModel.objects.defer("blob").order_by("-version").first()
