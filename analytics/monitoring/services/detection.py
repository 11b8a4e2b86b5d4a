"""Anomaly detection on the hourly rollups against a seasonal baseline (same hour of the week).

For each metric and run (every ANALYTICS_ALERT_INTERVAL_SECONDS, see :func:`evaluation_slot`):

1. **Observed**: the metric for one hour, from ``EventRollup`` / ``SessionRollup`` (never the raw
   events). Traffic, errors and payments are counted at event time, so the *current* hour is judged
   once ANALYTICS_ALERT_PARTIAL_HOUR_MINUTES have passed (counts compared with the baseline scaled
   to the elapsed fraction); before that, the last complete hour is. The conversion rate is counted
   per session *start* hour and a session converts later, so it is only judged for the last hour
   that ended at least ANALYTICS_ALERT_CONVERSION_SETTLE_MINUTES ago.
2. **Baseline**: the same hour of the week in each of the previous ANALYTICS_ALERT_BASELINE_WEEKS
   weeks (weeks before the first rollup are missing, not zero). ``expected`` = their median (for
   traffic, scaled to the level of the last 24 hours against their own medians: :func:`recent_level`),
   spread = 1.4826 × MAD (robust: one past incident does not move it), floored by the counting noise
   of the observation (Poisson for counts, binomial with Laplace smoothing for rates), and widened
   by √(1 + π/2K) for the uncertainty of a median of K weeks.
3. **Verdict**: anomalous when |z| ≥ ANALYTICS_ALERT_Z, the relative change is at least
   ANALYTICS_ALERT_MIN_CHANGE_PCT, the volume is above the metric's minimum and the direction is
   one that matters for the metric (errors and failed payments only alert upwards).
4. **Episodes**: an anomalous verdict updates the metric's open alert (same direction) or opens
   one (its ``started_at`` looks back over the previous complete hours while they were anomalous
   the same way); a normal verdict starts the recovery clock, and the alert resolves once the
   metric has been normal for ANALYTICS_ALERT_RESOLVE_AFTER_MINUTES. A partial unique constraint
   allows one open alert per metric, so an episode is never alerted twice.
"""

from __future__ import annotations

import logging
import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from statistics import NormalDist

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Min, Sum
from django.utils import timezone

from ...models import EventRollup, EventType, SessionRollup
from ..models import Alert, AlertDirection, AlertMetric, AlertStatus
from . import notify
from .alerts import METRICS, MetricSpec, alert_dict, alerts_changed

logger = logging.getLogger(__name__)

HOUR = timedelta(hours=1)
WEEK = timedelta(days=7)
MAD_TO_SIGMA = 1.4826
#: Serialises detector runs on PostgreSQL (transaction-scoped advisory lock).
ADVISORY_LOCK_ID = 72_410_077
#: How far back the start of a new episode is looked for (complete hours).
LOOKBACK_HOURS = 12
#: Counts: the baseline is scaled to the level of the last day (median ratio, clipped).
LEVEL_HOURS = 24
LEVEL_CLIP = (0.75, 1.33)


@dataclass(frozen=True)
class Slot:
    """The hour a metric is judged for; ``fraction`` < 1 for the current, partial hour."""

    hour: datetime
    fraction: float = 1.0


@dataclass(frozen=True)
class Sample:
    """One hour of a metric: a count (``numerator``, ``denominator`` = 1) or a rate."""

    numerator: float
    denominator: float

    @property
    def value(self) -> float | None:
        if self.denominator <= 0:
            return None
        return self.numerator / self.denominator


@dataclass
class Verdict:
    metric: str
    slot: Slot
    anomalous: bool
    judged: bool  # False: too little volume or history to say anything
    observed: float | None = None  # counts: per full hour (a partial hour is projected)
    expected: float | None = None
    z_score: float | None = None
    change_pct: float | None = None
    direction: str | None = None
    volume: float = 0
    baseline: list[float] = field(default_factory=list)
    reason: str = ""


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def evaluation_slot(metric: str, now: datetime) -> Slot:
    """The hour judged for ``metric`` by a run at ``now`` (see the module docstring)."""
    if metric == AlertMetric.CONVERSION_RATE:
        settled = now - timedelta(minutes=settings.ANALYTICS_ALERT_CONVERSION_SETTLE_MINUTES)
        return Slot(floor_hour(settled) - HOUR)
    current = floor_hour(now)
    elapsed = (now - current).total_seconds() / 3600
    if elapsed * 60 >= settings.ANALYTICS_ALERT_PARTIAL_HOUR_MINUTES:
        return Slot(current, min(1.0, elapsed))
    return Slot(current - HOUR)


# --- reading the rollups -----------------------------------------------------------------------------


def _event_counts(hours: list[datetime], types: Iterable[int]) -> dict[tuple[datetime, int], int]:
    rows = (
        EventRollup.objects.filter(hour__in=hours, type__in=list(types))
        .values("hour", "type")
        .annotate(n=Sum("count"))
    )
    return {(row["hour"].astimezone(UTC), row["type"]): row["n"] or 0 for row in rows}


def samples_for(metric: str, hours: list[datetime]) -> dict[datetime, Sample]:
    """The metric for each hour (one grouped query on a rollup table)."""
    if metric == AlertMetric.CONVERSION_RATE:
        rows = (
            SessionRollup.objects.filter(hour__in=hours)
            .values("hour")
            .annotate(sessions=Sum("sessions"), conversions=Sum("conversions"))
        )
        found = {row["hour"].astimezone(UTC): row for row in rows}
        return {
            h: Sample(found[h]["conversions"] or 0, found[h]["sessions"] or 0) if h in found else Sample(0, 0)
            for h in hours
        }
    if metric == AlertMetric.TRAFFIC:
        counts = _event_counts(hours, [EventType.PAGEVIEW])
        return {h: Sample(counts.get((h, EventType.PAGEVIEW), 0), 1) for h in hours}
    if metric == AlertMetric.ERROR_RATE:
        types = [EventType.PAGEVIEW, EventType.JS_ERROR, EventType.RAGE_CLICK]
        counts = _event_counts(hours, types)
        return {
            h: Sample(
                counts.get((h, EventType.JS_ERROR), 0) + counts.get((h, EventType.RAGE_CLICK), 0),
                counts.get((h, EventType.PAGEVIEW), 0),
            )
            for h in hours
        }
    if metric == AlertMetric.FAILED_PAYMENTS:
        counts = _event_counts(hours, [EventType.PAYMENT_FAILED, EventType.PAYMENT_SUCCEEDED])
        result = {}
        for h in hours:
            failed = counts.get((h, EventType.PAYMENT_FAILED), 0)
            result[h] = Sample(failed, failed + counts.get((h, EventType.PAYMENT_SUCCEEDED), 0))
        return result
    raise ValueError(f"unknown metric {metric!r}")


def history_start() -> datetime | None:
    """The first hour any rollup holds: older baseline weeks are missing, not zero."""
    firsts = [
        EventRollup.objects.aggregate(first=Min("hour"))["first"],
        SessionRollup.objects.aggregate(first=Min("hour"))["first"],
    ]
    known = [moment.astimezone(UTC) for moment in firsts if moment is not None]
    return min(known) if known else None


# --- the statistics --------------------------------------------------------------------------------------


def judge(
    spec: MetricSpec,
    slot: Slot,
    current: Sample,
    history: list[Sample],
    *,
    level: float = 1.0,
    z_limit: float | None = None,
) -> Verdict:
    """The verdict for one hour given the same hour in previous weeks (pure: no database).
    ``level`` scales a count baseline to the recent traffic level (see :func:`recent_level`)."""
    z_limit = settings.ANALYTICS_ALERT_Z if z_limit is None else z_limit
    f = slot.fraction
    verdict = Verdict(spec.metric, slot, anomalous=False, judged=False)
    if spec.kind == "count":
        baseline = [s.numerator * level for s in history]
    else:
        baseline = [s.value for s in history if s.value is not None]
    verdict.baseline = baseline
    if len(baseline) < settings.ANALYTICS_ALERT_MIN_BASELINE_WEEKS:
        verdict.reason = f"only {len(baseline)} weeks of history"
        return verdict
    expected = statistics.median(baseline)
    spread = MAD_TO_SIGMA * statistics.median([abs(v - expected) for v in baseline])
    widen = math.sqrt(1 + math.pi / (2 * len(baseline)))
    if spec.kind == "count":
        observed_raw = current.numerator
        expected_raw = expected * f
        noise = math.sqrt(max(expected_raw, 1.0))
        sigma = max(spread * f, noise) * widen
        volume = max(observed_raw / f, expected)
        z = (observed_raw - expected_raw) / sigma
        observed_value = observed_raw / f
    else:
        n = current.denominator
        volume = n / f
        if n <= 0:
            verdict.reason = "nothing to divide by"
            return verdict
        observed_value = current.numerator / n
        smoothed = (expected * n + 1) / (n + 2)
        # Counting noise from the exact binomial tail (small counts are far from normal), the
        # week-to-week spread as a normal; the weaker of the two evidences is kept.
        z_noise = binomial_z(round(current.numerator), round(n), smoothed) / widen
        z_spread = (observed_value - expected) / (spread * widen) if spread > 0 else math.inf
        z = math.copysign(min(abs(z_noise), abs(z_spread)), observed_value - expected)
    verdict.volume = volume
    verdict.observed, verdict.expected, verdict.z_score = observed_value, expected, z
    verdict.change_pct = (observed_value - expected) / expected * 100 if expected > 0 else None
    verdict.direction = AlertDirection.UP if z > 0 else AlertDirection.DOWN
    if volume < spec.min_volume():
        verdict.reason = f"volume {volume:.0f} below the minimum {spec.min_volume()}"
        return verdict
    verdict.judged = True
    big_change = (
        verdict.change_pct is None or abs(verdict.change_pct) >= settings.ANALYTICS_ALERT_MIN_CHANGE_PCT
    )
    verdict.anomalous = abs(z) >= z_limit and big_change and verdict.direction in spec.directions
    return verdict


def _baseline_hours(hour: datetime, first_hour: datetime | None) -> list[datetime]:
    weeks = [hour - WEEK * k for k in range(1, settings.ANALYTICS_ALERT_BASELINE_WEEKS + 1)]
    return [h for h in weeks if first_hour is not None and h >= first_hour]


def recent_level(metric: str, before: datetime, first_hour: datetime | None) -> float:
    """How busy the last LEVEL_HOURS complete hours were against their own seasonal medians: the
    median of the hourly ratios (robust to a few spiking hours), clipped to LEVEL_CLIP. A week that
    is 20 % busier all round (a campaign, the season) then does not make every hour an anomaly,
    while a jump of more than a third against the recent level still stands out."""
    hours = [before - HOUR * i for i in range(1, LEVEL_HOURS + 1)]
    baselines = {hour: _baseline_hours(hour, first_hour) for hour in hours}
    needed = set(hours) | {h for weeks in baselines.values() for h in weeks}
    samples = samples_for(metric, sorted(needed))
    ratios = []
    for hour in hours:
        weeks = baselines[hour]
        if len(weeks) < settings.ANALYTICS_ALERT_MIN_BASELINE_WEEKS:
            continue
        usual = statistics.median(samples[h].numerator for h in weeks)
        if usual >= METRICS[metric].min_volume():
            ratios.append(samples[hour].numerator / usual)
    if len(ratios) < LEVEL_HOURS // 2:
        return 1.0
    low, high = LEVEL_CLIP
    return min(high, max(low, statistics.median(ratios)))


def binomial_z(k: int, n: int, p: float) -> float:
    """The normal quantile of the exact binomial mid-p tail of ``k`` successes in ``n`` at rate ``p``
    (positive above the mean, negative below)."""
    if n <= 0 or not 0 < p < 1:
        return 0.0
    log_p, log_q = math.log(p), math.log1p(-p)

    def pmf(i: int) -> float:
        return math.exp(
            math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p + (n - i) * log_q
        )

    upper = k >= n * p
    step, stop = (1, n + 1) if upper else (-1, -1)
    tail, i = 0.5 * pmf(k), k + step
    while i != stop:
        term = pmf(i)
        tail += term
        if term < 1e-15 * tail:
            break
        i += step
    tail = min(max(tail, 1e-300), 0.5)
    z = -NormalDist().inv_cdf(tail)
    return z if upper else -z


def evaluate(metric: str, slot: Slot, first_hour: datetime | None) -> Verdict:
    """Read the slot and its baseline weeks from the rollups and judge them."""
    spec = METRICS[metric]
    weeks = _baseline_hours(slot.hour, first_hour)
    samples = samples_for(metric, [slot.hour, *weeks])
    level = recent_level(metric, slot.hour, first_hour) if spec.kind == "count" else 1.0
    return judge(spec, slot, samples[slot.hour], [samples[h] for h in weeks], level=level)


# --- wording ---------------------------------------------------------------------------------------------


def _format_value(spec: MetricSpec, value: float) -> str:
    if spec.kind == "count":
        return f"{value:,.0f}"
    return f"{value * 100:.1f}%"


def alert_message(
    spec: MetricSpec,
    direction: str,
    observed: float,
    expected: float,
    slot_hour: datetime,
    started_at: datetime,
) -> str:
    """E.g. "Conversion rate is 62% below the usual for Tuesdays 14:00 (1.2% vs 3.2%) since 14:00 UTC"."""
    usual_for = f"{slot_hour:%A}s {slot_hour:%H:00}"
    since = (
        f"{started_at:%H:00} UTC"
        if started_at.date() == slot_hour.date()
        else f"{started_at:%a %d %b %H:00} UTC"
    )
    unit = spec.unit
    values = f"({_format_value(spec, observed)} vs {_format_value(spec, expected)}{unit})"
    if expected > 0:
        change = abs(observed - expected) / expected * 100
        how = "above" if direction == AlertDirection.UP else "below"
        return f"{spec.label} is {change:.0f}% {how} the usual for {usual_for} {values} since {since}"
    return (
        f"{spec.label} is {_format_value(spec, observed)}{unit}, usually {_format_value(spec, expected)}"
        f" for {usual_for}, since {since}"
    )


# --- episodes --------------------------------------------------------------------------------------------


@dataclass
class DetectionResult:
    opened: list[Alert] = field(default_factory=list)
    updated: list[Alert] = field(default_factory=list)
    resolved: list[Alert] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)


def _episode_start(metric: str, slot: Slot, direction: str, first_hour: datetime | None) -> datetime:
    """The first hour of the run of hours anomalous in the same direction that ends at ``slot``."""
    start = slot.hour
    for _ in range(LOOKBACK_HOURS):
        previous = Slot(start - HOUR)
        verdict = evaluate(metric, previous, first_hour)
        if not (verdict.anomalous and verdict.direction == direction):
            break
        start = previous.hour
    return start


def _apply_anomaly(
    verdict: Verdict, now: datetime, first_hour: datetime | None, result: DetectionResult
) -> None:
    spec = METRICS[verdict.metric]
    alert = Alert.objects.select_for_update().filter(metric=verdict.metric, status=AlertStatus.OPEN).first()
    if alert is not None and alert.direction != verdict.direction:
        _resolve(alert, now)  # the metric swung the other way: that episode is over, a new one starts
        result.resolved.append(alert)
        alert = None
    if alert is None:
        latest = Alert.objects.filter(metric=verdict.metric).order_by("-last_seen_at", "-id").first()
        recovery = timedelta(minutes=settings.ANALYTICS_ALERT_RESOLVE_AFTER_MINUTES)
        if (
            latest is not None
            and latest.resolved_by_id is not None
            and latest.direction == verdict.direction
            and now - latest.last_seen_at < recovery
        ):
            # Staff closed it by hand while it was still going on: same episode, no second alert.
            latest.last_seen_at = now
            latest.save(update_fields=["last_seen_at"])
            return
    if alert is None:
        started_at = _episode_start(verdict.metric, verdict.slot, verdict.direction, first_hour)
        alert = Alert(
            metric=verdict.metric,
            direction=verdict.direction,
            observed=verdict.observed,
            expected=verdict.expected,
            z_score=verdict.z_score,
            change_pct=verdict.change_pct,
            hour=verdict.slot.hour,
            started_at=started_at,
            last_seen_at=now,
            message=alert_message(
                spec, verdict.direction, verdict.observed, verdict.expected, verdict.slot.hour, started_at
            ),
        )
        try:
            with transaction.atomic():
                alert.save()
        except IntegrityError:  # another run opened it a moment ago
            logger.info("an open %s alert already exists", verdict.metric)
            return
        result.opened.append(alert)
        return
    alert.observed, alert.expected = verdict.observed, verdict.expected
    alert.z_score, alert.change_pct = verdict.z_score, verdict.change_pct
    alert.hour, alert.last_seen_at, alert.normal_since = verdict.slot.hour, now, None
    alert.message = alert_message(
        spec, alert.direction, alert.observed, alert.expected, verdict.slot.hour, alert.started_at
    )
    alert.save(
        update_fields=[
            "observed",
            "expected",
            "z_score",
            "change_pct",
            "hour",
            "last_seen_at",
            "normal_since",
            "message",
        ]
    )
    result.updated.append(alert)


def _resolve(alert: Alert, now: datetime, by=None) -> None:
    alert.status, alert.resolved_at, alert.resolved_by = AlertStatus.RESOLVED, now, by
    alert.save(update_fields=["status", "resolved_at", "resolved_by"])


def _apply_normal(metric: str, now: datetime, result: DetectionResult) -> None:
    alert = Alert.objects.select_for_update().filter(metric=metric, status=AlertStatus.OPEN).first()
    if alert is None:
        return
    if alert.normal_since is None:
        alert.normal_since = now
        alert.save(update_fields=["normal_since"])
    if now - alert.normal_since >= timedelta(minutes=settings.ANALYTICS_ALERT_RESOLVE_AFTER_MINUTES):
        _resolve(alert, now)
        result.resolved.append(alert)


def detect_anomalies(now: datetime | None = None, metrics: Iterable[str] | None = None) -> DetectionResult:
    """One detector run: judge every metric, open/update/resolve alerts, notify the staff who opted
    in of new ones (outbox rows in this transaction) and, after the commit, push the changed alerts
    to whoever listens (:func:`.alerts.on_alerts_changed`: the live dashboard)."""
    now = (now or timezone.now()).astimezone(UTC)
    result = DetectionResult()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [ADVISORY_LOCK_ID])
                if not cursor.fetchone()[0]:
                    logger.info("another anomaly detector run is in progress")
                    return result
        first_hour = history_start()
        for metric in metrics or METRICS:
            verdict = evaluate(metric, evaluation_slot(metric, now), first_hour)
            result.verdicts.append(verdict)
            if verdict.anomalous:
                _apply_anomaly(verdict, now, first_hour, result)
            else:
                # Too little volume to judge counts as normal for recovery: a quiet night does not
                # keep yesterday's alert open.
                _apply_normal(metric, now, result)
        if result.opened:
            for alert in result.opened:
                notify.notify_subscribers(alert)
        # The dashboard upserts alerts by id: new, updated and resolved ones all go out.
        changed = [alert_dict(alert) for alert in [*result.resolved, *result.opened, *result.updated]]
        if changed:
            transaction.on_commit(lambda: alerts_changed(changed), robust=True)
    return result


def resolve_by_staff(alert: Alert, user) -> Alert:
    """Close an alert by hand; if its metric is still anomalous, the episode goes on silently."""
    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=alert.pk)
        if alert.status == AlertStatus.OPEN:
            _resolve(alert, timezone.now(), by=user)
            shape = alert_dict(alert)
            transaction.on_commit(lambda: alerts_changed([shape]), robust=True)
    return alert


def acknowledge(alert: Alert, user) -> Alert:
    """Mark an alert as seen (it stays open until the metric recovers)."""
    if alert.acknowledged_at is None:
        alert.acknowledged_at, alert.acknowledged_by = timezone.now(), user
        alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
        shape = alert_dict(alert)
        transaction.on_commit(lambda: alerts_changed([shape]), robust=True)
    return alert
