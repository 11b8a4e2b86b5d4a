"""Anomaly detection on a planted seasonal history: quiet on normal seasonality, loud on planted
spikes and drops, one alert per episode, resolution after an hour back to normal."""

from __future__ import annotations

from datetime import timedelta

import pytest

from analytics.models import EventType
from analytics.monitoring.models import Alert, AlertMetric, AlertStatus
from analytics.monitoring.services import detection
from analytics.monitoring.services.detection import Slot, detect_anomalies, evaluation_slot

from .conftest import HOUR, LAST_WEEK, expected_shape, scale_conversions, scale_events, set_events

pytestmark = pytest.mark.django_db

MINUTES = timedelta(minutes=1)
# Hours of the judged week (Monday 2026-11-16 …)
TUESDAY_19 = LAST_WEEK + timedelta(days=1, hours=19)
WEDNESDAY_10 = LAST_WEEK + timedelta(days=2, hours=10)
THURSDAY_15 = LAST_WEEK + timedelta(days=3, hours=15)
FRIDAY_19 = LAST_WEEK + timedelta(days=4, hours=19)


def run_at(moment):
    return detect_anomalies(now=moment)


def test_the_planted_history_is_strongly_seasonal(history):
    """Guard for the next test: a baseline blind to the week would see 10× swings as anomalies."""
    peak = max(row.pageviews for hour, row in history.items() if hour >= LAST_WEEK)
    trough = min(row.pageviews for hour, row in history.items() if hour >= LAST_WEEK)
    weekend_evening = history[LAST_WEEK + timedelta(days=5, hours=19)].pageviews
    weekday_evening = history[LAST_WEEK + timedelta(days=4, hours=19)].pageviews
    assert peak / trough > 10
    assert weekday_evening / weekend_evening > 1.7
    assert expected_shape(FRIDAY_19) == 1.0


def test_no_alert_over_a_normal_seasonal_week(history):
    """Every hour of the last week judged (all four metrics): nothing fires."""
    verdicts = []
    moment = LAST_WEEK + HOUR + 5 * MINUTES
    while moment < LAST_WEEK + timedelta(days=7):
        result = run_at(moment)
        verdicts += result.verdicts
        assert not result.opened, [a.message for a in result.opened]
        moment += HOUR
    assert Alert.objects.count() == 0
    judged = [v for v in verdicts if v.judged]
    # Most hours have the volume to be judged; none is anomalous.
    assert len(judged) > 0.75 * len(verdicts)
    assert not [v for v in verdicts if v.anomalous]


def test_traffic_spike_opens_one_alert_with_direction_size_and_start(history):
    for hour in (WEDNESDAY_10, WEDNESDAY_10 + HOUR, WEDNESDAY_10 + 2 * HOUR):
        scale_events(hour, EventType.PAGEVIEW, 3)

    # The first run after the spike started only at 13:05 (the worker was down): the episode is
    # traced back to its first hour.
    result = run_at(WEDNESDAY_10 + 3 * HOUR + 5 * MINUTES)
    assert [a.metric for a in result.opened] == [AlertMetric.TRAFFIC]
    alert = result.opened[0]
    assert alert.direction == "up"
    assert alert.started_at == WEDNESDAY_10
    assert alert.change_pct == pytest.approx(200, abs=30)
    assert alert.z_score > 10
    assert alert.message.startswith("Traffic is ")
    assert "% above the usual for Wednesdays 12:00" in alert.message
    assert alert.message.endswith("since 10:00 UTC")


def test_an_episode_is_alerted_once_across_many_runs(history):
    for hour in (WEDNESDAY_10, WEDNESDAY_10 + HOUR, WEDNESDAY_10 + 2 * HOUR):
        scale_events(hour, EventType.PAGEVIEW, 3)
    opened = []
    moment = WEDNESDAY_10 + HOUR + 5 * MINUTES
    while moment < WEDNESDAY_10 + 3 * HOUR + 5 * MINUTES:  # every 5 minutes for two hours
        opened += run_at(moment).opened
        moment += 5 * MINUTES
    assert len(opened) == 1
    alert = Alert.objects.get()
    assert alert.status == AlertStatus.OPEN
    assert alert.started_at == WEDNESDAY_10
    assert alert.last_seen_at == WEDNESDAY_10 + 3 * HOUR  # the last run
    assert alert.hour == WEDNESDAY_10 + 2 * HOUR


def test_alert_resolves_after_an_hour_back_to_normal_and_a_new_episode_alerts_again(history):
    for hour in (WEDNESDAY_10, WEDNESDAY_10 + HOUR):
        scale_events(hour, EventType.PAGEVIEW, 3)
    run_at(WEDNESDAY_10 + HOUR + 5 * MINUTES)  # judges 10:00: opens
    run_at(WEDNESDAY_10 + 2 * HOUR + 5 * MINUTES)  # judges 11:00: still anomalous
    alert = Alert.objects.get()

    run_at(WEDNESDAY_10 + 3 * HOUR + 5 * MINUTES)  # judges 12:00: normal, the clock starts
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN
    assert alert.normal_since == WEDNESDAY_10 + 3 * HOUR + 5 * MINUTES
    result = run_at(WEDNESDAY_10 + 3 * HOUR + 35 * MINUTES)
    assert not result.resolved
    result = run_at(WEDNESDAY_10 + 4 * HOUR + 5 * MINUTES)  # an hour of normal verdicts
    assert [a.pk for a in result.resolved] == [alert.pk]
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED
    assert alert.resolved_at == WEDNESDAY_10 + 4 * HOUR + 5 * MINUTES

    # A later, separate spike is a new episode: a new alert.
    evening = WEDNESDAY_10 + 9 * HOUR
    scale_events(evening, EventType.PAGEVIEW, 2)
    result = run_at(evening + HOUR + 5 * MINUTES)
    assert len(result.opened) == 1
    assert result.opened[0].started_at == evening
    assert Alert.objects.count() == 2


def test_a_short_normal_blip_does_not_split_an_episode(history):
    for hour in (WEDNESDAY_10, WEDNESDAY_10 + 2 * HOUR):  # 11:00 normal in between
        scale_events(hour, EventType.PAGEVIEW, 3)
    for moment in (11, 12, 13):
        run_at(WEDNESDAY_10 + (moment - 10) * HOUR + 5 * MINUTES)
    assert Alert.objects.count() == 1
    alert = Alert.objects.get()
    assert alert.status == AlertStatus.OPEN and alert.normal_since is None


def test_conversion_drop_is_judged_once_sessions_had_time_to_convert(history):
    for hour in (TUESDAY_19, TUESDAY_19 + HOUR):
        scale_conversions(hour, 0.38)
    # 20:05: the 19:00 sessions may still convert, the conversion rate is not judged yet.
    assert (
        evaluation_slot(AlertMetric.CONVERSION_RATE, TUESDAY_19 + HOUR + 5 * MINUTES).hour
        == TUESDAY_19 - HOUR
    )
    assert not run_at(TUESDAY_19 + HOUR + 5 * MINUTES).opened
    result = run_at(TUESDAY_19 + HOUR + 35 * MINUTES)
    assert [a.metric for a in result.opened] == [AlertMetric.CONVERSION_RATE]
    alert = result.opened[0]
    assert alert.direction == "down"
    assert alert.change_pct == pytest.approx(-62, abs=8)
    assert alert.started_at == TUESDAY_19
    assert alert.message.startswith("Conversion rate is ")
    assert "% below the usual for Tuesdays 19:00 (" in alert.message
    assert alert.message.endswith(" since 19:00 UTC")
    observed, expected = alert.message.split("(")[1].split(")")[0].split(" vs ")
    assert float(observed.rstrip("%")) == pytest.approx(alert.observed * 100, abs=0.06)
    assert float(expected.rstrip("%")) == pytest.approx(alert.expected * 100, abs=0.06)


def test_rage_click_surge_raises_the_error_rate_alert(history):
    pageviews = history[THURSDAY_15].pageviews
    set_events(THURSDAY_15, EventType.RAGE_CLICK, int(pageviews * 0.10))
    result = run_at(THURSDAY_15 + HOUR + 5 * MINUTES)
    assert [a.metric for a in result.opened] == [AlertMetric.ERROR_RATE]
    alert = result.opened[0]
    assert alert.direction == "up"
    assert alert.observed == pytest.approx(0.10 + 0.012, abs=0.01)
    assert alert.expected == pytest.approx(0.02, abs=0.004)
    assert (
        "Error and rage-click rate is " in alert.message
        and "above the usual for Thursdays 15:00" in alert.message
    )


def test_fewer_errors_than_usual_is_not_an_alert(history):
    set_events(THURSDAY_15, EventType.RAGE_CLICK, 0)
    set_events(THURSDAY_15, EventType.JS_ERROR, 0)
    result = run_at(THURSDAY_15 + HOUR + 5 * MINUTES)
    verdict = next(v for v in result.verdicts if v.metric == AlertMetric.ERROR_RATE)
    assert verdict.z_score < -3 and not verdict.anomalous
    assert not result.opened


def test_failed_payment_burst_raises_the_failed_payments_alert(history):
    attempts = history[FRIDAY_19].payments_ok + history[FRIDAY_19].payments_failed
    set_events(FRIDAY_19, EventType.PAYMENT_FAILED, int(attempts * 0.6))
    set_events(FRIDAY_19, EventType.PAYMENT_SUCCEEDED, attempts - int(attempts * 0.6))
    result = run_at(FRIDAY_19 + HOUR + 5 * MINUTES)
    assert [a.metric for a in result.opened] == [AlertMetric.FAILED_PAYMENTS]
    alert = result.opened[0]
    assert alert.direction == "up"
    assert alert.observed == pytest.approx(0.6, abs=0.03)
    assert "Failed-payment rate is " in alert.message and "since 19:00 UTC" in alert.message


def test_tiny_volumes_never_alert(history, settings):
    """04:00 on a Sunday: a handful of payments, all failed, is below the minimum volume."""
    sunday_4 = LAST_WEEK + timedelta(days=6, hours=4)
    set_events(sunday_4, EventType.PAYMENT_FAILED, 3)
    set_events(sunday_4, EventType.PAYMENT_SUCCEEDED, 0)
    result = run_at(sunday_4 + HOUR + 5 * MINUTES)
    verdict = next(v for v in result.verdicts if v.metric == AlertMetric.FAILED_PAYMENTS)
    assert not verdict.judged and "below the minimum" in verdict.reason
    assert not result.opened


def test_traffic_drop_alerts_downwards(history):
    scale_events(FRIDAY_19, EventType.PAGEVIEW, 0.3)
    result = run_at(FRIDAY_19 + HOUR + 5 * MINUTES)
    traffic = [a for a in result.opened if a.metric == AlertMetric.TRAFFIC]
    assert len(traffic) == 1
    assert traffic[0].direction == "down"
    assert traffic[0].change_pct == pytest.approx(-70, abs=6)
    assert "% below the usual for Fridays 19:00" in traffic[0].message


def test_the_current_hour_is_judged_pro_rata_once_far_enough_in(history, settings):
    settings.ANALYTICS_ALERT_PARTIAL_HOUR_MINUTES = 20
    now = FRIDAY_19 + 30 * MINUTES
    assert evaluation_slot(AlertMetric.TRAFFIC, now) == Slot(FRIDAY_19, 0.5)
    assert evaluation_slot(AlertMetric.TRAFFIC, FRIDAY_19 + 10 * MINUTES) == Slot(FRIDAY_19 - HOUR)

    # Half an hour in, half the usual hour has arrived: normal.
    full = history[FRIDAY_19].pageviews
    set_events(FRIDAY_19, EventType.PAGEVIEW, full // 2)
    result = detect_anomalies(now=now, metrics=[AlertMetric.TRAFFIC])
    assert not result.opened and result.verdicts[0].judged
    assert result.verdicts[0].observed == pytest.approx(full, rel=0.01)  # projected to the hour

    # The whole usual hour in half an hour: twice the pace.
    set_events(FRIDAY_19, EventType.PAGEVIEW, full)
    result = detect_anomalies(now=now + 5 * MINUTES, metrics=[AlertMetric.TRAFFIC])
    assert len(result.opened) == 1
    assert result.opened[0].change_pct == pytest.approx(100 * (60 / 35) - 100 + 0, abs=15)


def test_staff_resolving_a_running_episode_does_not_make_it_alert_again(history, staff_user):
    for hour in (WEDNESDAY_10, WEDNESDAY_10 + HOUR, WEDNESDAY_10 + 2 * HOUR):
        scale_events(hour, EventType.PAGEVIEW, 3)
    alert = run_at(WEDNESDAY_10 + HOUR + 5 * MINUTES).opened[0]
    detection.resolve_by_staff(alert, staff_user)
    for minutes in (30, 60, 90, 120):
        assert not run_at(WEDNESDAY_10 + HOUR + (5 + minutes) * MINUTES).opened
    assert Alert.objects.count() == 1
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED and alert.resolved_by == staff_user


def test_one_open_alert_per_metric_is_a_database_rule(history):
    from django.db import IntegrityError, transaction

    fields = dict(
        metric=AlertMetric.TRAFFIC,
        direction="up",
        observed=1,
        expected=1,
        z_score=5,
        change_pct=0,
        hour=WEDNESDAY_10,
        started_at=WEDNESDAY_10,
        last_seen_at=WEDNESDAY_10,
        message="x",
    )
    Alert.objects.create(**fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(**fields)
    Alert.objects.create(**fields | {"status": AlertStatus.RESOLVED})  # resolved ones: any number


def test_without_enough_history_nothing_is_judged(db):
    from analytics.models import EventRollup

    hour = LAST_WEEK
    EventRollup.objects.create(hour=hour, type=EventType.PAGEVIEW, path="/", count=10_000)
    result = run_at(hour + HOUR + 5 * MINUTES)
    assert not result.opened
    assert all(not v.judged for v in result.verdicts)
    assert "weeks of history" in result.verdicts[0].reason


@pytest.mark.parametrize(("k", "n", "p"), [(3, 10, 0.04), (0, 10, 0.3), (21, 1560, 0.035), (80, 1500, 0.035)])
def test_binomial_z_is_the_exact_mid_p_tail(k, n, p):
    from statistics import NormalDist

    pmf = [(1 - p) ** n]  # by the recurrence P(i + 1) = P(i) · (n − i) / (i + 1) · p / (1 − p)
    for i in range(n):
        pmf.append(pmf[-1] * (n - i) / (i + 1) * p / (1 - p))
    upper = k >= n * p
    tail = (sum(pmf[k + 1 :]) if upper else sum(pmf[:k])) + pmf[k] / 2
    expected = -NormalDist().inv_cdf(min(tail, 0.5))
    assert detection.binomial_z(k, n, p) == pytest.approx(expected if upper else -expected, rel=1e-6)
