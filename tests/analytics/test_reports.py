"""Funnels and journeys on a planted data set, and their staff API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from analytics.selectors import Segment, day_range
from analytics.services import reports
from tests.analytics.factories import Visitor, at, store
from tests.factories import CustomerFactory, CustomerWithLoginFactory, StaffFactory, TechnicianFactory

pytestmark = pytest.mark.django_db

D = "2026-03-02"
D1 = "2026-03-03"
D2 = "2026-03-04"
TRACK = "/track/{token}/"


def _form(visitor, start, *fields, abandon=None):
    """Booking form: started, then each field focused one minute apart."""
    items = [("booking_started", start, "/book/"), ("form_start", start, "/book/", {"form": "/book/"})]
    for i, name in enumerate(fields):
        items.append(
            ("field_focus", start + timedelta(minutes=i + 1), "/book/", {"form": "/book/", "field": name})
        )
    if abandon:
        items.append(
            ("form_abandon", start + timedelta(minutes=9), "/book/", {"form": "/book/", "field": abandon})
        )
    store(visitor, *items)


@pytest.fixture
def planted(flushed):
    """Six people in range, one outside it.

    P1 leaves the booking form at "email"; P2 books, approves the quote the next day, pays the day
    after; P3 books and declines; P4 bounces; P5 sees the book page only; P6 books on a phone and
    approves on a laptop (both devices consented and linked); P7 did everything a week earlier.
    """
    c2, c3, c6, c7 = (CustomerFactory() for _ in range(4))
    p1, p2, p3, p4, p5 = Visitor(), Visitor(), Visitor(), Visitor(), Visitor()
    p6_phone = Visitor(device=True, device_type="mobile", browser="Mobile Safari", os="iOS")
    p6_laptop = Visitor(device=True, customer_id=c6.pk)
    p7 = Visitor()

    store(p1, ("pageview", at(D, "09:00:00"), "/"), ("pageview", at(D, "09:01:00"), "/book/"))
    _form(p1, at(D, "09:02:00"), "name", "email", abandon="email")

    store(p2, ("pageview", at(D, "10:00:00"), "/"), ("pageview", at(D, "10:01:00"), "/book/"))
    _form(p2, at(D, "10:02:00"), "name", "email", "phone")
    store(p2.as_customer(c2.pk), ("booking_completed", at(D, "10:10:00"), "/book/"))
    store(p2, ("pageview", at(D, "10:10:01"), TRACK))
    store(Visitor.server(c2.pk), ("quote_approved", at(D1, "15:00:00"), ""))
    store(Visitor.server(c2.pk), ("payment_succeeded", at(D2, "11:00:00"), ""))

    store(p3, ("pageview", at(D, "11:00:00"), "/"), ("pageview", at(D, "11:01:00"), "/book/"))
    _form(p3, at(D, "11:02:00"), "name")
    store(p3.as_customer(c3.pk), ("booking_completed", at(D, "11:05:00"), "/book/"))
    store(p3, ("pageview", at(D, "11:05:01"), TRACK))
    store(Visitor.server(c3.pk), ("quote_declined", at(D1, "09:00:00"), ""))

    store(p4, ("pageview", at(D, "12:00:00"), "/"))
    store(p5, ("pageview", at(D, "13:00:00"), "/faq/"), ("pageview", at(D, "13:02:00"), "/book/"))

    store(p6_phone, ("pageview", at(D, "14:00:00"), "/"), ("pageview", at(D, "14:01:00"), "/book/"))
    _form(p6_phone, at(D, "14:02:00"), "name", "email", "phone", "problem_description")
    store(p6_phone.as_customer(c6.pk), ("booking_completed", at(D, "14:10:00"), "/book/"))
    store(p6_phone, ("pageview", at(D, "14:10:01"), TRACK))
    store(p6_laptop, ("pageview", at(D1, "19:00:00"), TRACK), ("quote_approved", at(D1, "19:01:00"), TRACK))

    week_before = "2026-02-23"
    store(
        p7,
        ("pageview", at(week_before, "10:00:00"), "/"),
        ("pageview", at(week_before, "10:01:00"), "/book/"),
    )
    _form(p7, at(week_before, "10:02:00"), "name")
    store(p7.as_customer(c7.pk), ("booking_completed", at(week_before, "10:05:00"), "/book/"))
    flushed()
    return {"c2": c2, "c6": c6}


def _booking_funnel(segment=None, first=D, last=D2):
    steps, form = reports.FUNNELS["booking"]
    start, end = day_range(at(first).date(), at(last).date())
    return reports.funnel(steps, start, end, segment, form=form, form_step=2)


def test_booking_funnel_counts_people_across_days_and_devices(planted):
    report = _booking_funnel()
    entered = [(s["name"], s["entered"]) for s in report["steps"]]
    assert entered == [
        ("landing", 6),
        ("book_page", 5),
        ("form_started", 4),
        ("booking_completed", 3),
        ("quote_approved", 2),
        ("paid", 1),
    ]
    landing, book, form, booked, approved, paid = report["steps"]
    assert (landing["drop_off"], landing["drop_off_rate"]) == (1, round(1 / 6, 4))
    assert book["conversion_from_previous"] == round(5 / 6, 4)
    assert booked["conversion_from_previous"] == 0.75 and booked["conversion_from_start"] == 0.5
    assert approved["drop_off"] == 1 and paid["drop_off"] is None
    # P2 approved 28 h 50 min after booking, P6 28 h 51 min after: the median of the two.
    assert approved["median_seconds_from_previous"] == (28 * 3600 + 50 * 60 + 28 * 3600 + 51 * 60) / 2


def test_booking_funnel_per_form_field(planted):
    form = _booking_funnel()["form"]
    assert (form["form"], form["after_step"], form["started"], form["left_without_next_step"]) == (
        "/book/",
        "form_started",
        4,
        1,
    )
    assert form["fields"] == [
        {"field": "name", "reached": 4, "last_before_leaving": 0},
        {"field": "email", "reached": 3, "last_before_leaving": 1},
        {"field": "phone", "reached": 2, "last_before_leaving": 0},
        {"field": "problem_description", "reached": 1, "last_before_leaving": 0},
    ]


def test_funnel_segment_applies_to_where_people_entered(planted):
    report = _booking_funnel(Segment(device_type="mobile"))
    assert [s["entered"] for s in report["steps"]] == [1, 1, 1, 1, 1, 0]  # P6 approved on the laptop


def test_funnel_date_range_excludes_older_visits(planted):
    report = _booking_funnel(first="2026-02-23", last="2026-02-23")
    assert [s["entered"] for s in report["steps"]] == [1, 1, 1, 1, 0, 0]


def test_journeys_top_paths_and_paths_between_two_pages(planted):
    start, end = day_range(at(D).date(), at(D).date())
    top = reports.journeys(start, end)
    assert top["sessions"] == 6
    assert top["paths"][:2] == [
        {"pages": ["/", "/book/", TRACK], "sessions": 3, "share": 0.5},
        {"pages": ["/"], "sessions": 1, "share": round(1 / 6, 4)},
    ]
    between = reports.journeys(start, end, from_page="/", to_page="/track/abcdef/")
    assert (between["to_page"], between["sessions_with_from_page"], between["sessions_reaching_to_page"]) == (
        TRACK,
        5,
        3,
    )
    assert between["paths"] == [{"pages": ["/", "/book/", TRACK], "sessions": 3, "share": 1.0}]
    leading = reports.journeys(start, end, to_page="/book/")
    assert leading["paths"] == [
        {"pages": ["/", "/book/"], "sessions": 4, "share": 0.8},
        {"pages": ["/faq/", "/book/"], "sessions": 1, "share": 0.2},
    ]


# --- the staff API -------------------------------------------------------------------------------------


@pytest.fixture
def staff_api():
    api = APIClient()
    api.force_authenticate(StaffFactory())
    return api


def test_reports_are_for_staff_only(planted):
    api = APIClient()
    assert api.get("/api/v1/analytics/funnels/").status_code == 401
    for user in (CustomerWithLoginFactory().user, TechnicianFactory()):
        api.force_authenticate(user)
        response = api.get("/api/v1/analytics/funnels/")
        assert (
            response.status_code == 403 and response.json()["detail"] == "Only shop staff may read analytics."
        )


def test_funnel_api(planted, staff_api):
    response = staff_api.get("/api/v1/analytics/funnels/", {"from": D, "to": D2})
    assert response.status_code == 200
    body = response.json()
    assert body["funnel"] == "booking" and (body["from"], body["to"]) == (D, D2)
    assert [s["entered"] for s in body["steps"]] == [6, 5, 4, 3, 2, 1]
    assert body["form"]["fields"][1] == {"field": "email", "reached": 3, "last_before_leaving": 1}
    custom = staff_api.get(
        "/api/v1/analytics/funnels/",
        {
            "from": D,
            "to": D2,
            "steps": "pageview:/book/,booking_completed,payment_succeeded",
            "device_type": "desktop",
        },
    ).json()
    assert custom["funnel"] == "custom" and custom["segment"] == {"device_type": "desktop"}
    assert [s["entered"] for s in custom["steps"]] == [4, 2, 1]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"from": D2, "to": D}, "from", "Must be on or before 'to'."),
        ({"from": "2024-01-01", "to": D}, "from", "The range may cover at most 366 days."),
        ({"from": "yesterday"}, "from", "Date has wrong format."),
        ({"steps": "pageview,teleport"}, "steps", "Unknown event type 'teleport'"),
        ({"steps": "pageview"}, "steps", "A funnel needs between 2 and 10 steps."),
        ({"funnel": "signup"}, "funnel", '"signup" is not a valid choice.'),
        ({"colour": "red"}, "colour", "Unknown parameter."),
        ({"country": "Britain"}, "country", "This value does not match the required pattern."),
    ],
)
def test_bad_report_parameters_are_a_400_that_says_why(staff_api, params, field, message):
    response = staff_api.get("/api/v1/analytics/funnels/", params)
    assert response.status_code == 400
    body = response.json()
    assert any(message in text for text in body["errors"][field]), body
    assert body["detail"].startswith("Invalid input.")


def test_journey_api(planted, staff_api):
    body = staff_api.get(
        "/api/v1/analytics/journeys/", {"from": D, "to": D, "from_page": "/", "to_page": "/book/", "limit": 1}
    ).json()
    assert body["paths"] == [{"pages": ["/", "/book/"], "sessions": 4, "share": 1.0}]
    assert staff_api.get("/api/v1/analytics/journeys/", {"max_steps": 1}).status_code == 400


def test_overview_and_sessions_api_read_rollups_and_sessions(planted, staff_api):
    overview = staff_api.get("/api/v1/analytics/overview/", {"from": D, "to": D}).json()
    assert overview["sessions"] == 6 and overview["pageviews"] == 14
    assert overview["bounce_rate"] == round(1 / 6, 4)
    assert overview["top_pages"][:3] == [
        {"path": "/", "views": 5},
        {"path": "/book/", "views": 5},
        {"path": TRACK, "views": 3},
    ]
    mobile = staff_api.get(
        "/api/v1/analytics/overview/", {"from": D, "to": D, "device_type": "mobile"}
    ).json()
    assert mobile["sessions"] == 1
    sessions = staff_api.get("/api/v1/analytics/sessions/", {"from": D, "to": D1}).json()
    assert sessions["count"] == 7
    latest = sessions["results"][0]
    assert latest["pages"] == [TRACK] and latest["customer"] == planted["c6"].pk
