"""Dashboard figures on the planted data set (conftest.py), asserted exactly, through the API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.dashboard.filters import DashboardFilters
from analytics.dashboard.serializers import DashboardSerializer, parse_filters
from analytics.dashboard.services import build_dashboard
from analytics.models import DailyEventRollup, DailySessionRollup
from payments.lifecycle import PaymentStatus
from tests.analytics.dashboard.conftest import sign_in
from tests.factories import TechnicianFactory, advance, make_ticket
from tests.payments.factories import PaymentFactory, issued_invoice, ready_ticket

pytestmark = pytest.mark.django_db

API = "/api/v1/analytics/dashboard/"


def get(client, **params):
    response = client.get(API, params)
    assert response.status_code == 200, response.json()
    return response.json()


@pytest.fixture
def staff_client(client, staff_user):
    sign_in(client, staff_user)
    return client


def test_traffic_and_conversions(staff_client, planted):
    data = get(staff_client, **planted.custom())
    assert data["traffic"] == {
        "visitors": 4,
        "pageviews": 6,
        "sessions": 4,
        "bounces": 2,
        "bounce_rate": 0.5,
        "avg_session_seconds": 90.0,
    }
    assert data["conversions"] == {
        "bookings": 1,
        "quote_approvals": 1,
        "payments": 1,
        "failed_payments": 0,
        "rage_clicks": 1,
        "converted_sessions": 2,
        "conversion_rate": 0.5,
    }
    assert data["filters"] == {
        "range": "custom",
        "from": planted.day1.isoformat(),
        "to": planted.day2.isoformat(),
        "granularity": "hour",
        "segment": {},
    }


def test_funnel_top_pages_and_breakdowns(staff_client, planted):
    data = get(staff_client, **planted.custom())
    # People per step, in order: C approved and paid without booking through the site in the range,
    # so those two conversions are outside the funnel, not steps (no step exceeds the one before).
    assert [(s["name"], s["count"], s["rate_from_start"]) for s in data["funnel"]] == [
        ("landing", 4, 1.0),
        ("book_page", 2, 0.5),
        ("form_started", 1, 0.25),
        ("booking_completed", 1, 0.25),
        ("quote_approved", 0, 0.0),
        ("paid", 0, 0.0),
    ]
    assert data["funnel"][1]["rate_from_previous"] == 0.5
    assert [(o["name"], o["people"], o["without_tracked_visit"]) for o in data["funnel_outside"]] == [
        ("booking_completed", 0, 0),
        ("quote_approved", 1, 0),
        ("paid", 1, 0),
    ]
    # The same figures as the funnels API for the same days (one query path).
    api = staff_client.get(
        "/api/v1/analytics/funnels/",
        {"from": planted.day1.isoformat(), "to": planted.day2.isoformat()},
    ).json()
    assert [s["entered"] for s in api["steps"]] == [s["count"] for s in data["funnel"]]
    assert api["outside_funnel"] == data["funnel_outside"]
    assert data["top_pages"] == [
        {"path": "/", "pageviews": 3},
        {"path": "/book/", "pageviews": 2},
        {"path": "/pricing/", "pageviews": 1},
    ]
    breakdowns = data["breakdowns"]
    assert breakdowns["device_type"] == [
        {"value": "desktop", "sessions": 2, "pageviews": 3, "bounce_rate": 0.5, "conversions": 1},
        {"value": "mobile", "sessions": 2, "pageviews": 3, "bounce_rate": 0.5, "conversions": 1},
    ]
    assert [(r["value"], r["sessions"]) for r in breakdowns["browser"]] == [
        ("Chrome", 2),
        ("Firefox", 1),
        ("Safari", 1),
    ]
    assert [(r["value"], r["sessions"], r["bounce_rate"]) for r in breakdowns["country"]] == [
        ("GB", 2, 0.0),
        ("FR", 1, 1.0),
        ("US", 1, 1.0),
    ]
    assert [(r["value"], r["sessions"]) for r in breakdowns["utm_source"]] == [("", 3), ("google", 1)]


def test_series_hourly_for_two_days_and_daily_beyond(staff_client, planted):
    hourly = get(staff_client, **planted.custom())["series"]
    assert len(hourly) == 48
    busy = [(p["t"][11:16], p["sessions"], p["pageviews"], p["conversions"]) for p in hourly if p["sessions"]]
    assert busy == [("10:00", 1, 2, 1), ("11:00", 1, 1, 0), ("09:00", 1, 2, 1), ("12:00", 1, 1, 0)]
    daily = get(staff_client, **planted.custom(last=planted.day2 + timedelta(days=1)))
    assert daily["filters"]["granularity"] == "day"
    assert [(p["t"][:10], p["sessions"], p["pageviews"], p["conversions"]) for p in daily["series"]] == [
        (planted.day1.isoformat(), 2, 3, 1),
        (planted.day2.isoformat(), 2, 3, 1),
        ((planted.day2 + timedelta(days=1)).isoformat(), 0, 0, 0),
    ]


def test_segment_filters_apply_to_every_panel(staff_client, planted):
    data = get(staff_client, **planted.custom(device_type="mobile"))
    assert data["traffic"] == {
        "visitors": 2,
        "pageviews": 3,
        "sessions": 2,
        "bounces": 1,
        "bounce_rate": 0.5,
        "avg_session_seconds": 90.0,
    }
    assert data["conversions"]["bookings"] == 1
    assert data["conversions"]["payments"] == 0
    assert data["top_pages"] == [{"path": "/book/", "pageviews": 2}, {"path": "/", "pageviews": 1}]
    assert [r["value"] for r in data["breakdowns"]["device_type"]] == ["mobile"]
    assert [s["count"] for s in data["funnel"]] == [2, 2, 1, 1, 0, 0]
    assert [item["kind"] for item in data["activity"]] == ["booking_completed"]

    gb_chrome = get(staff_client, **planted.custom(country="gb", browser="Chrome"))
    assert gb_chrome["filters"]["segment"] == {"browser": "Chrome", "country": "GB"}
    assert gb_chrome["traffic"]["sessions"] == 2
    assert gb_chrome["traffic"]["bounce_rate"] == 0.0
    assert get(staff_client, **planted.custom(utm_source="google"))["traffic"]["pageviews"] == 2
    one_day = get(staff_client, **planted.custom(first=planted.day2, last=planted.day2))
    assert one_day["traffic"]["sessions"] == 2
    assert one_day["conversions"]["bookings"] == 0


def test_activity_feed_newest_first(staff_client, planted):
    data = get(staff_client, **planted.custom())
    assert [(a["kind"], a["detail"]) for a in data["activity"]] == [
        ("payment_succeeded", "89.00 GBP"),
        ("quote_approved", ""),
        ("rage_click", "#price"),
        ("booking_completed", "RT-AAAA"),
    ]


def test_presets(staff_client, planted):
    today = timezone.now().date()
    week = get(staff_client, range="7d")
    assert week["filters"]["from"] == (today - timedelta(days=6)).isoformat()
    assert week["traffic"]["sessions"] == 4
    assert get(staff_client)["filters"]["range"] == "7d"
    assert get(staff_client, range="today")["traffic"]["sessions"] == 0
    assert len(get(staff_client, range="today")["series"]) == 24
    assert get(staff_client, range="30d")["filters"]["granularity"] == "day"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"range": "week"}, "range"),
        ({"range": "custom", "from": "2026-01-02"}, "from"),
        ({"range": "custom", "from": "2026-01-05", "to": "2026-01-02"}, "from"),
        ({"range": "7d", "from": "2026-01-01", "to": "2026-01-02"}, "range"),
        ({"device_type": "fridge"}, "device_type"),
        ({"country": "GBR"}, "country"),
        ({"from": "yesterday", "to": "2026-01-02"}, "from"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_filters_are_a_400_with_a_clear_message(staff_client, params, field):
    response = staff_client.get(API, params)
    assert response.status_code == 400
    body = response.json()
    assert field in body["errors"]
    assert body["detail"].startswith("Invalid input.")


def test_tickets_workload_and_revenue(staff_client, planted):
    busy, idle = TechnicianFactory(first_name="Bea", last_name="Busy"), TechnicianFactory(username="zed")
    make_ticket(technician=busy)
    advance(make_ticket(technician=busy), "received")
    done = advance(make_ticket(technician=busy), "cancelled")
    make_ticket()  # unassigned
    paid_ticket = ready_ticket(technician=idle, quote=8900)
    PaymentFactory(
        invoice=issued_invoice(paid_ticket), status=PaymentStatus.SUCCEEDED, succeeded_at=timezone.now()
    )
    PaymentFactory(
        invoice=issued_invoice(ready_ticket(technician=idle, quote=1000)),
        status=PaymentStatus.SUCCEEDED,
        succeeded_at=timezone.now() - timedelta(days=40),  # outside the range
    )
    data = get(staff_client, range="7d")
    tickets = data["tickets"]
    by_status = {row["status"]: row["count"] for row in tickets["by_status"]}
    assert by_status["booked"] == 2
    assert by_status["received"] == 1
    assert by_status["ready_for_pickup"] == 2
    assert tickets["open_total"] == 5
    assert done.status == "cancelled"
    assert [(w["name"], w["open_tickets"]) for w in tickets["workload"]] == [
        ("Bea Busy", 2),
        (idle.get_full_name() or idle.get_username(), 0),  # ready for pickup: no work left
        ("Unassigned", 1),
    ]
    assert data["revenue"] == [
        {"currency": "GBP", "gross": 8900, "refunded": 0, "net": 8900, "payments": 1, "display": "89.00 GBP"}
    ]


def test_daily_rollups_match_the_hourly_ones(planted):
    assert sum(DailySessionRollup.objects.values_list("sessions", flat=True)) == 4
    assert sum(DailyEventRollup.objects.filter(type=1).values_list("count", flat=True)) == 6
    # Only page views keep their page in the daily rollup.
    assert set(DailyEventRollup.objects.exclude(type=1).values_list("path", flat=True)) == {""}


def test_the_service_output_matches_its_documented_shape(planted):
    filters: DashboardFilters = parse_filters(planted.custom())
    data = build_dashboard(filters)
    serializer = DashboardSerializer(data=DashboardSerializer(data).data)
    assert serializer.is_valid(), serializer.errors
    assert set(data["timings_ms"]) >= {"traffic", "series", "breakdowns", "top_pages", "funnel", "activity"}


def _daily_tables() -> dict[str, set[tuple]]:
    from analytics.models import DailyEventSlice, DailySessionSlice

    def rows(model, *fields):
        return {row for row in model.objects.values_list(*fields) if any(row[len(row) - 1 :])}

    dims = ("device_type", "browser", "country", "utm_source")
    metrics = ("sessions", "bounces", "conversions", "pageviews", "duration_seconds")
    return {
        "events": rows(DailyEventRollup, "day", "type", "path", *dims, "count"),
        "sessions": rows(DailySessionRollup, "day", *dims, *metrics),
        "event_slices": rows(DailyEventSlice, "segment", "day", "type", "path", "count"),
        "session_slices": rows(DailySessionSlice, "segment", "dimension", "day", "value", *metrics),
    }


def test_the_backfill_sql_gives_what_the_storage_keeps(planted):
    """The migration and the benchmark build the daily tables with SQL; it must agree with the
    incremental upserts of the storage."""
    from django.db import connection

    from analytics.dashboard.rollups import backfill_sql
    from analytics.models import DailyEventSlice, DailySessionSlice

    kept = _daily_tables()
    assert len(kept["session_slices"]) > len(kept["sessions"])
    for model in (DailyEventRollup, DailySessionRollup, DailyEventSlice, DailySessionSlice):
        model.objects.all().delete()
    day = "CAST(hour AS date)" if connection.vendor == "postgresql" else "date(hour)"
    with connection.cursor() as cursor:
        for statement in backfill_sql(day):
            cursor.execute(statement)
    assert _daily_tables() == kept
