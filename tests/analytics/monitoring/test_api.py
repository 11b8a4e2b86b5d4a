"""The monitoring API: staff only, alerts (list, filter, acknowledge, resolve), the opt-in, and
the web-vitals panel data, with 400s that say what is wrong."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from analytics.monitoring.models import Alert, AlertStatus, AlertSubscription
from tests.analytics.factories import Visitor, store
from tests.factories import StaffFactory, TechnicianFactory

pytestmark = pytest.mark.django_db
HOUR = datetime(2026, 11, 18, 10, tzinfo=UTC)


def make_alert(metric="traffic", status=AlertStatus.OPEN, **extra) -> Alert:
    fields = dict(
        metric=metric,
        direction="up",
        observed=9000.0,
        expected=3000.0,
        z_score=12.3456,
        change_pct=200.0,
        hour=HOUR,
        started_at=HOUR,
        last_seen_at=HOUR + timedelta(minutes=65),
        status=status,
        message="Traffic is 200% above the usual for Wednesdays 10:00 (9,000 vs 3,000 page views an hour) "
        "since 10:00 UTC",
    )
    return Alert.objects.create(**fields | extra)


@pytest.fixture
def staff_client(staff_user):
    client = APIClient()
    client.force_authenticate(staff_user)
    return client


@pytest.fixture
def customer_client(customer):
    client = APIClient()
    client.force_authenticate(customer.user)
    return client


URLS = [
    ("get", "/api/v1/analytics/alerts/"),
    ("post", "/api/v1/analytics/alerts/1/acknowledge/"),
    ("post", "/api/v1/analytics/alerts/1/resolve/"),
    ("get", "/api/v1/analytics/alerts/subscription/"),
    ("put", "/api/v1/analytics/alerts/subscription/"),
    ("get", "/api/v1/analytics/web-vitals/"),
]


@pytest.mark.parametrize(("method", "url"), URLS)
def test_customers_and_technicians_are_refused_and_anonymous_must_log_in(customer_client, method, url):
    make_alert()
    response = getattr(customer_client, method)(url, {"email": True}, format="json")
    assert response.status_code == 403
    assert response.json()["detail"] == "Only shop staff may read analytics."
    technician = APIClient()
    technician.force_authenticate(TechnicianFactory())
    assert getattr(technician, method)(url, {"email": True}, format="json").status_code == 403
    assert getattr(APIClient(), method)(url, {"email": True}, format="json").status_code == 401
    assert Alert.objects.get().acknowledged_at is None and Alert.objects.get().status == "open"
    assert not AlertSubscription.objects.exists()


def test_list_and_filter_alerts(staff_client):
    open_alert = make_alert()
    make_alert(metric="error_rate", status=AlertStatus.RESOLVED, resolved_at=HOUR + timedelta(hours=3))
    response = staff_client.get("/api/v1/analytics/alerts/")
    assert response.status_code == 200
    assert response.json()["count"] == 2
    response = staff_client.get("/api/v1/analytics/alerts/", {"status": "open"})
    (item,) = response.json()["results"]
    assert item == {
        "id": open_alert.pk,
        "metric": "traffic",
        "metric_label": "Traffic",
        "direction": "up",
        "observed": 9000.0,
        "expected": 3000.0,
        "z_score": 12.35,
        "change_pct": 200.0,
        "started_at": "2026-11-18T10:00:00+00:00",
        "last_seen_at": "2026-11-18T11:05:00+00:00",
        "resolved_at": None,
        "acknowledged_at": None,
        "status": "open",
        "message": open_alert.message,
    }
    resolved = staff_client.get("/api/v1/analytics/alerts/", {"status": "resolved", "metric": "error_rate"})
    assert [a["metric"] for a in resolved.json()["results"]] == ["error_rate"]


def test_the_dashboard_selector_has_the_agreed_shape():
    from analytics.monitoring import selectors

    make_alert()
    make_alert(metric="conversion_rate", status=AlertStatus.RESOLVED)
    (alert,) = selectors.open_alerts()
    assert {
        "id",
        "metric",
        "direction",
        "observed",
        "expected",
        "z_score",
        "change_pct",
        "started_at",
        "last_seen_at",
        "status",
        "message",
    } <= set(alert)
    assert alert["started_at"] == "2026-11-18T10:00:00+00:00"


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"status": "closed"}, "status", '"closed" is not a valid choice.'),
        ({"metric": "revenue"}, "metric", '"revenue" is not a valid choice.'),
        ({"stauts": "open"}, "stauts", "Unknown parameter."),
    ],
)
def test_bad_alert_filters_are_400_with_the_field(staff_client, params, field, message):
    response = staff_client.get("/api/v1/analytics/alerts/", params)
    assert response.status_code == 400
    assert response.json()["errors"][field] == [message]
    assert response.json()["detail"].startswith("Invalid input.")


def test_acknowledge_and_resolve(staff_client, staff_user):
    alert = make_alert()
    response = staff_client.post(f"/api/v1/analytics/alerts/{alert.pk}/acknowledge/")
    assert response.status_code == 200
    assert response.json()["acknowledged_at"] is not None and response.json()["status"] == "open"
    alert.refresh_from_db()
    assert alert.acknowledged_by == staff_user

    response = staff_client.post(f"/api/v1/analytics/alerts/{alert.pk}/resolve/")
    assert response.status_code == 200
    assert response.json()["status"] == "resolved" and response.json()["resolved_at"] is not None
    alert.refresh_from_db()
    assert alert.resolved_by == staff_user

    missing = staff_client.post("/api/v1/analytics/alerts/999999/resolve/")
    assert missing.status_code == 404 and "detail" in missing.json()


def test_opt_in_and_out(staff_client, staff_user):
    assert staff_client.get("/api/v1/analytics/alerts/subscription/").json() == {"email": False}
    response = staff_client.put("/api/v1/analytics/alerts/subscription/", {"email": True}, format="json")
    assert response.status_code == 200 and response.json() == {"email": True}
    assert AlertSubscription.objects.filter(user=staff_user, channel="email").exists()
    assert staff_client.get("/api/v1/analytics/alerts/subscription/").json() == {"email": True}
    other = StaffFactory()
    assert not AlertSubscription.objects.filter(user=other).exists()  # per person

    response = staff_client.put("/api/v1/analytics/alerts/subscription/", {"email": False}, format="json")
    assert response.json() == {"email": False}
    assert not AlertSubscription.objects.exists()


@pytest.mark.parametrize("body", [{}, {"email": "perhaps"}, {"email": None}])
def test_bad_opt_in_bodies_are_400(staff_client, body):
    response = staff_client.put("/api/v1/analytics/alerts/subscription/", body, format="json")
    assert response.status_code == 400
    assert "email" in response.json()["errors"]


def test_web_vitals_endpoint(staff_client, flushed):
    start = datetime(2026, 11, 20, 9, tzinfo=UTC)
    mobile = Visitor(device_type="mobile", browser="Safari")
    desktop = Visitor(device_type="desktop")
    store(mobile, *[("web_vital", start, "/book/", {"name": "LCP", "value": 4800}) for _ in range(4)])
    store(desktop, *[("web_vital", start, "/book/", {"name": "LCP", "value": 1200}) for _ in range(6)])
    flushed()
    query = {"start": "2026-11-20", "end": "2026-11-21T00:00:00Z"}
    response = staff_client.get("/api/v1/analytics/web-vitals/", query)
    assert response.status_code == 200
    body = response.json()
    assert body["start"] == "2026-11-20T00:00:00+00:00" and body["end"] == "2026-11-21T00:00:00+00:00"
    assert body["thresholds"] == {"LCP": [2500, 4000], "INP": [200, 500], "CLS": [0.1, 0.25]}
    (page,) = body["pages"]
    assert page["path"] == "/book/" and page["samples"] == 10 and page["lcp_rating"] == "poor"
    assert page["inp_p75_ms"] is None and page["inp_rating"] is None

    mobile_only = staff_client.get("/api/v1/analytics/web-vitals/", query | {"device_type": "desktop"}).json()
    assert mobile_only["segment"] == {"device_type": "desktop"}
    assert mobile_only["pages"][0]["samples"] == 6 and mobile_only["pages"][0]["lcp_rating"] == "good"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "yesterday"}, "start"),
        ({"start": "2026-11-21", "end": "2026-11-20"}, "start"),
        ({"start": "2020-01-01", "end": "2026-11-20"}, "start"),
        ({"device_type": "fridge"}, "device_type"),
        ({"country": "GBR"}, "country"),
        ({"segment": "x"}, "segment"),
    ],
)
def test_bad_web_vitals_queries_are_400(staff_client, params, field):
    response = staff_client.get("/api/v1/analytics/web-vitals/", params)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_the_endpoints_are_in_the_openapi_schema(staff_client):
    schema = staff_client.get("/api/schema/", {"format": "json"}).json()
    for path in (
        "/api/v1/analytics/alerts/",
        "/api/v1/analytics/alerts/{id}/acknowledge/",
        "/api/v1/analytics/alerts/{id}/resolve/",
        "/api/v1/analytics/alerts/subscription/",
        "/api/v1/analytics/web-vitals/",
    ):
        assert path in schema["paths"], path
    assert "AnalyticsAlert" in schema["components"]["schemas"]


def test_alerts_in_the_admin_with_a_resolve_action(client, staff_user, settings):
    # force_login has no request: django-axes then records the address "unknown", which
    # PostgreSQL's inet column refuses (not what this test is about).
    settings.AXES_ENABLED = False
    alert = make_alert()
    client.force_login(staff_user)
    page = client.get("/admin/analytics/alert/")
    assert page.status_code == 200 and "Traffic is 200% above" in page.content.decode()
    response = client.post(
        "/admin/analytics/alert/", {"action": "resolve", "_selected_action": [alert.pk]}, follow=True
    )
    assert response.status_code == 200
    alert.refresh_from_db()
    assert alert.status == "resolved" and alert.resolved_by == staff_user
