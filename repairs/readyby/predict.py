"""Computing an estimate for a ticket (reads only: services store it, selectors show it).

With a trained model (``ReadyByModel``) the three quantiles come from it; with too little history the
estimate falls back to medians by device kind of past repairs (then of all repairs, then typical
times), and records which method it used so the customer and staff are told.
"""

from __future__ import annotations

import contextlib
import logging
import math
from datetime import datetime

import numpy as np
from django.core.cache import cache
from django.utils import timezone

from ..lifecycle import Status
from ..models import RepairTicket
from ..selectors import status_events
from .calendar import WorkingCalendar, shop_calendar
from .features import IN_SHOP, ShopClock, live_snapshot, load_histories
from .models import ReadyByEstimate, ReadyByMethod, ReadyByModel

logger = logging.getLogger(__name__)

#: Statuses that get an estimate: booked (from drop-off) and every in-shop status.
ESTIMATED_STATUSES = frozenset({Status.BOOKED, *IN_SHOP})
#: Typical shop hours (10th, 50th, 90th percentile) when the shop has no history at all.
DEFAULT_HOURS: dict[str, tuple[float, float, float]] = {
    "phone": (4.0, 10.0, 30.0),
    "tablet": (5.0, 12.0, 35.0),
    "laptop": (6.0, 16.0, 45.0),
    "desktop": (6.0, 14.0, 40.0),
    "console": (5.0, 14.0, 40.0),
    "*": (5.0, 14.0, 40.0),
}
FALLBACK_SAMPLE = 2000  # most recent finished repairs read for the median table
MIN_PER_KIND = 5

_bundles: dict[int, object] = {}


def current_model() -> ReadyByModel | None:
    return ReadyByModel.objects.defer("blob").order_by("-version").first()


def _bundle(model: ReadyByModel):
    if model.pk not in _bundles:
        from .training import load

        full = ReadyByModel.objects.get(pk=model.pk)
        _bundles.clear()  # only the newest is used
        _bundles[model.pk] = load(full)
    return _bundles[model.pk]


def fallback_table(calendar: WorkingCalendar) -> dict[str, dict]:
    """Shop hours check-in → ready per device kind of the latest finished repairs (cached until the
    next repair is finished)."""
    finished = status_events(Status.READY_FOR_PICKUP)
    newest = finished.order_by("-created_at").values_list("pk", flat=True).first()  # index order
    key = f"readyby:medians:ev:{finished.count()}:{newest}"
    try:
        table = cache.get(key)
    except Exception:  # the cache (Redis) is down: compute it, never fail a booking over it
        table = None
    if table is not None:
        return table
    recent = list(finished.order_by("-created_at").values_list("ticket_id", flat=True)[:FALLBACK_SAMPLE])
    totals: dict[str, list[float]] = {}
    if recent:
        for history in load_histories(ticket_ids=recent):
            ready = history.ready_at
            if ready is None:
                continue
            hours = ShopClock(calendar, history).hours(ready)
            totals.setdefault(history.kind, []).append(hours)
            totals.setdefault("*", []).append(hours)
    table = {
        kind: {
            "p10": float(np.quantile(v, 0.1)),
            "p50": float(np.quantile(v, 0.5)),
            "p90": float(np.quantile(v, 0.9)),
            "n": len(v),
        }
        for kind, v in totals.items()
        if len(v) >= MIN_PER_KIND
    }
    with contextlib.suppress(Exception):
        cache.set(key, table, 3600)
    return table


def _fallback(features: dict, calendar: WorkingCalendar) -> tuple[str, tuple[float, float, float], int]:
    table = fallback_table(calendar)
    kind = features["kind"]
    if kind in table:
        row, method = table[kind], ReadyByMethod.MEDIAN_BY_KIND
    elif "*" in table:
        row, method = table["*"], ReadyByMethod.MEDIAN_ALL
    else:
        p10, p50, p90 = DEFAULT_HOURS.get(kind, DEFAULT_HOURS["*"])
        row, method = {"p10": p10, "p50": p50, "p90": p90, "n": 0}, ReadyByMethod.DEFAULT
    elapsed = features["elapsed_hours"]
    # What is left of the typical total; at least a little, however long it has taken so far.
    remaining = tuple(max(row[q] - elapsed, 0.5 * (i + 1)) for i, q in enumerate(("p10", "p50", "p90")))
    return method, tuple(sorted(remaining)), row["n"]


def compute_estimate(ticket: RepairTicket, now: datetime | None = None) -> ReadyByEstimate | None:
    """An unsaved estimate for ``ticket`` as of ``now`` (None once it is ready or closed)."""
    if ticket.status not in ESTIMATED_STATUSES:
        return None
    now = now or timezone.now()
    calendar = shop_calendar()
    features = live_snapshot(ticket, calendar, now)
    model = current_model()
    basis = 0
    if model is not None:
        p10, p50, p90 = (float(x) for x in _bundle(model).predict([features])[0])
        method = ReadyByMethod.MODEL
        basis = model.train_tickets + model.test_tickets
    else:
        method, (p10, p50, p90), basis = _fallback(features, calendar)
    features = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in features.items()}
    features["basis_repairs"] = basis
    return ReadyByEstimate(
        ticket=ticket,
        computed_at=now,
        seq=ticket.last_event_seq,
        status=ticket.status,
        method=method,
        model=model if method == ReadyByMethod.MODEL else None,
        elapsed_hours=round(features["elapsed_hours"], 3),
        hours_p10=round(p10, 3),
        hours_p50=round(p50, 3),
        hours_p90=round(p90, 3),
        earliest=calendar.add_hours(now, p10),
        likely=calendar.add_hours(now, p50),
        latest=calendar.add_hours(now, p90),
        waiting_on_customer=ticket.status == Status.AWAITING_APPROVAL,
        features=features,
    )
