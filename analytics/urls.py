"""Pages of the analytics app (included at the site root). None yet: the tracker talks to
/api/v1/events/ and /api/v1/analytics/consent/ (api_urls.py); the staff dashboard comes later."""

from django.urls import path

from . import ready_by
from .dashboard import views as dashboard_views
from .scoring import views as scoring_views

urlpatterns: list = [
    path("dashboard/", dashboard_views.dashboard, name="analytics-dashboard-page"),
    path("dashboard/customers/at-risk/", scoring_views.customers_at_risk, name="analytics-customers-at-risk"),
    path("dashboard/ready-by/", ready_by.ready_by, name="analytics-ready-by"),
]
