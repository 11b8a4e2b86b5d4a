"""Sessions (30 min inactivity, 24 h max) and the hourly rollups kept in step with them."""

from __future__ import annotations

import copy
import uuid
from datetime import timedelta

import pytest
from django.db.models import Count, Sum

from analytics.models import Event, EventRollup, EventType, Session, SessionRollup
from tests.analytics.factories import Visitor, at, store

pytestmark = pytest.mark.django_db

DAY = "2026-03-02"


def test_thirty_minutes_of_inactivity_start_a_new_session(flushed):
    visitor = Visitor()
    store(
        visitor,
        ("pageview", at(DAY, "10:00:00"), "/"),
        ("pageview", at(DAY, "10:29:59"), "/book/"),
        ("pageview", at(DAY, "11:00:00"), "/"),  # 30 min 1 s later
    )
    flushed()
    first, second = Session.objects.order_by("started_at")
    assert first.pages == ["/", "/book/"] and first.pageviews == 2
    assert second.pages == ["/"] and second.started_at == at(DAY, "11:00:00")


def test_a_session_lasts_at_most_24_hours(flushed):
    visitor = Visitor()
    start = at(DAY, "00:00:00")
    store(visitor, *[("pageview", start + timedelta(minutes=20 * i), f"/p{i % 3}/") for i in range(75)])
    flushed()
    first, second = Session.objects.order_by("started_at")
    assert first.started_at == start and first.duration_seconds == 24 * 3600
    assert second.started_at == start + timedelta(hours=24, minutes=20)
    assert first.pageviews + second.pageviews == 75


def test_entry_exit_duration_engagement_and_bounce(flushed):
    browsing, bounced, reader, booker = Visitor(), Visitor(), Visitor(), Visitor()
    store(
        browsing,
        ("pageview", at(DAY, "10:00:00"), "/"),
        ("scroll", at(DAY, "10:00:30"), "/", {"depth": 50}),
        ("pageview", at(DAY, "10:02:00"), "/book/"),
        ("page_leave", at(DAY, "10:05:00"), "/book/", {"engaged_ms": 90_000}),
    )
    store(
        bounced,
        ("pageview", at(DAY, "11:00:00"), "/faq/"),
        ("page_leave", at(DAY, "11:00:04"), "/faq/", {"engaged_ms": 3000}),
    )
    store(
        reader,
        ("pageview", at(DAY, "12:00:00"), "/faq/"),
        ("page_leave", at(DAY, "12:01:00"), "/faq/", {"engaged_ms": 15_000}),
    )
    store(
        booker,
        ("pageview", at(DAY, "13:00:00"), "/book/"),
        ("booking_completed", at(DAY, "13:03:00"), "/book/"),
    )
    flushed()
    visits = {s.identity: s for s in Session.objects.all()}
    visit = visits[browsing.visitor_key]
    assert (visit.entry_path, visit.exit_path, visit.pages) == ("/", "/book/", ["/", "/book/"])
    assert (visit.pageviews, visit.events, visit.engaged_ms, visit.duration_seconds) == (2, 4, 90_000, 300)
    assert visit.is_bounce is False
    assert visits[bounced.visitor_key].is_bounce is True
    assert visits[reader.visitor_key].is_bounce is False  # one page, but read for 15 s
    assert visits[booker.visitor_key].is_bounce is False and visits[booker.visitor_key].converted


def test_a_session_grows_across_flushes_and_its_rollup_follows(flushed):
    visitor = Visitor(device_type="mobile", browser="Mobile Safari", country="FR")
    store(visitor, ("pageview", at(DAY, "09:10:00"), "/", {"utm": {"utm_source": "flyer"}}))
    flushed()
    rollup = SessionRollup.objects.get()
    assert (rollup.sessions, rollup.bounces, rollup.pageviews) == (1, 1, 1)
    assert (rollup.entry_path, rollup.device_type, rollup.country, rollup.utm_source) == (
        "/",
        "mobile",
        "FR",
        "flyer",
    )
    store(
        visitor,
        ("pageview", at(DAY, "09:14:00"), "/book/"),
        ("payment_succeeded", at(DAY, "09:20:00"), "/pay/"),
    )
    flushed()
    rollup.refresh_from_db()
    assert (rollup.sessions, rollup.bounces, rollup.conversions, rollup.pageviews) == (1, 0, 1, 2)
    assert rollup.duration_seconds == 600 and rollup.hour == at(DAY, "09:00:00")
    session = Session.objects.get()
    assert session.exit_path == "/book/" and session.pages == ["/", "/book/"]
    # Later pages carry the visit's campaign into the event rollups.
    assert EventRollup.objects.get(type=EventType.PAGEVIEW, path="/book/").utm_source == "flyer"


def test_consecutive_repeats_collapse_and_journeys_are_capped(flushed, settings):
    settings.ANALYTICS_JOURNEY_MAX_PAGES = 4
    visitor = Visitor()
    paths = ["/", "/", "/book/", "/book/", "/", "/faq/", "/book/", "/track/{token}/"]
    store(visitor, *[("pageview", at(DAY, f"10:0{i}:00"), p) for i, p in enumerate(paths)])
    flushed()
    session = Session.objects.get()
    assert session.pages == ["/", "/book/", "/", "/faq/"] and session.pageviews == 8


def test_events_of_a_batch_are_ordered_by_time(flushed):
    visitor = Visitor()
    store(visitor, ("pageview", at(DAY, "10:05:00"), "/book/"), ("pageview", at(DAY, "10:00:00"), "/"))
    flushed()
    session = Session.objects.get()
    assert (session.entry_path, session.exit_path, session.started_at) == ("/", "/book/", at(DAY, "10:00:00"))


def test_rollups_agree_with_the_sessions_and_events_they_summarise(flushed):
    visitors = [
        Visitor(device_type=dt, country=cc) for dt in ("desktop", "mobile") for cc in ("GB", "DE", "")
    ]
    for index, visitor in enumerate(visitors):
        base = at(DAY, f"{8 + index:02d}:15:00")
        store(visitor, ("pageview", base, "/"))
        flushed()
        if index % 2:
            store(
                visitor,
                ("pageview", base + timedelta(minutes=3), "/book/"),
                ("click", base + timedelta(minutes=4), "/book/", {"sel": "button", "x": 1, "y": 2}),
                ("pageview", base + timedelta(minutes=50), "/"),  # a second visit
            )
            flushed()
    sessions = Session.objects.aggregate(n=Count("id"), pv=Sum("pageviews"))
    bounces = Session.objects.filter(is_bounce=True).count()
    totals = SessionRollup.objects.aggregate(n=Sum("sessions"), pv=Sum("pageviews"), b=Sum("bounces"))
    assert (totals["n"], totals["pv"], totals["b"]) == (sessions["n"], sessions["pv"], bounces) == (9, 12, 6)
    per_type = dict(Event.objects.values_list("type").annotate(n=Count("id")))
    rolled = dict(EventRollup.objects.values_list("type").annotate(n=Sum("count")))
    assert per_type == rolled == {EventType.PAGEVIEW: 12, EventType.CLICK: 3}


def test_server_events_without_a_browser_have_no_session_but_count(flushed):
    from tests.factories import CustomerFactory

    customer = CustomerFactory()
    store(Visitor.server(customer.pk), ("payment_succeeded", at(DAY, "10:00:00"), "", {"amount": 8900}))
    flushed()
    stored = Event.objects.get()
    assert stored.session_id is None and stored.customer == customer and stored.props == {"amount": 8900}
    assert not Session.objects.exists()
    assert EventRollup.objects.get().type == EventType.PAYMENT_SUCCEEDED


@pytest.mark.parametrize("flush_between", [False, True])
def test_consent_given_mid_visit_continues_the_anonymous_visit_on_the_device(flushed, flush_between):
    """The tracker sends the first page view at once, before the visitor answers the banner; after
    "Allow" the same browser sends with its new device id: still one visit, one visitor."""
    anonymous = Visitor()
    store(anonymous, ("pageview", at(DAY, "10:00:00"), "/"))
    if flush_between:
        flushed()
    consented = copy.copy(anonymous)
    consented.device_id = uuid.uuid4()
    store(
        consented,
        ("page_leave", at(DAY, "10:00:20"), "/", {"engaged_ms": 20_000}),
        ("pageview", at(DAY, "10:00:21"), "/book/"),
    )
    flushed()
    session = Session.objects.get()
    assert session.identity == session.device_id == consented.device_id
    assert session.visitor_key == anonymous.visitor_key
    assert session.pages == ["/", "/book/"] and session.pageviews == 2 and not session.is_bounce
    assert set(Event.objects.values_list("session_id", flat=True)) == {session.id}
    assert SessionRollup.objects.aggregate(n=Sum("sessions"))["n"] == 1
