"""Only shop staff see the dashboard: the page, the API and the socket refuse everyone else."""

from __future__ import annotations

import pytest

from tests.analytics.dashboard.conftest import sign_in
from tests.factories import CustomerWithLoginFactory, TechnicianFactory

pytestmark = pytest.mark.django_db

PAGE = "/dashboard/"
APIS = ["/api/v1/analytics/dashboard/", "/api/v1/analytics/dashboard/live/"]


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get(PAGE + "?range=30d")
    assert response.status_code == 302
    assert response["Location"].startswith("/account/login/?next=/dashboard/")
    for url in APIS:
        response = client.get(url)
        assert response.status_code in (401, 403)
        assert response.json()["detail"]


@pytest.mark.parametrize("make_user", [CustomerWithLoginFactory, TechnicianFactory])
def test_customers_and_technicians_are_refused(client, make_user):
    person = make_user()
    sign_in(client, getattr(person, "user", person))
    assert client.get(PAGE).status_code == 403
    for url in APIS:
        response = client.get(url)
        assert response.status_code == 403
        assert response.json() == {"detail": "Only shop staff may read analytics.", "errors": {}}


def test_staff_get_the_page_with_its_assets_and_config(client, staff_user):
    sign_in(client, staff_user)
    response = client.get(PAGE + "?range=30d&device_type=mobile")
    assert response.status_code == 200
    html = response.content.decode()
    assert "vendor/uplot/uPlot.min.css" in html
    assert "analytics/dashboard.js" in html
    assert 'id="dashboard-config"' in html
    assert '"device_type": "mobile"' in html
    assert "<script>" not in html  # no inline scripts (CSP)
    assert ' style="' not in html
    assert 'href="/dashboard/"' in html  # the staff nav links to it


def test_the_page_explains_invalid_filters(client, staff_user):
    sign_in(client, staff_user)
    response = client.get(PAGE + "?range=fortnight")
    assert response.status_code == 400
    assert "Invalid filters: range" in response.content.decode()


def test_the_chart_library_is_loaded_only_on_the_dashboard(client, staff_user):
    sign_in(client, staff_user)
    assert "uPlot" not in client.get("/").content.decode()


def test_live_endpoint_counts_recent_visitors(client, staff_user):
    sign_in(client, staff_user)
    data = client.get(APIS[1]).json()
    assert data["visitors_now"] == 0
    assert data["window_seconds"] == 300
