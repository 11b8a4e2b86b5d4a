"""The analytics app's part of /api/v1/ (included by revivatech/api_urls.py)."""

from django.urls import path

from . import api, views

urlpatterns = [
    path("events/", api.EventIngestView.as_view(), name="analytics-events"),
    path("analytics/consent/", views.consent, name="analytics-consent"),
    path("analytics/funnels/", api.FunnelView.as_view(), name="analytics-funnels"),
    path("analytics/journeys/", api.JourneyView.as_view(), name="analytics-journeys"),
    path("analytics/overview/", api.OverviewView.as_view(), name="analytics-overview"),
    path("analytics/sessions/", api.SessionListView.as_view(), name="analytics-sessions"),
]
