"""The analytics app's part of /api/v1/ (included by revivatech/api_urls.py)."""

from django.urls import path

from . import api, views
from .dashboard import api as dashboard_api
from .monitoring import api as monitoring_api
from .scoring import api as scoring_api

urlpatterns = [
    path("events/", api.EventIngestView.as_view(), name="analytics-events"),
    path("analytics/consent/", views.consent, name="analytics-consent"),
    path("analytics/funnels/", api.FunnelView.as_view(), name="analytics-funnels"),
    path("analytics/journeys/", api.JourneyView.as_view(), name="analytics-journeys"),
    path("analytics/overview/", api.OverviewView.as_view(), name="analytics-overview"),
    path("analytics/sessions/", api.SessionListView.as_view(), name="analytics-sessions"),
    path("analytics/alerts/", monitoring_api.AlertListView.as_view(), name="analytics-alerts"),
    path(
        "analytics/alerts/subscription/",
        monitoring_api.AlertSubscriptionView.as_view(),
        name="analytics-alert-subscription",
    ),
    path(
        "analytics/alerts/<int:pk>/acknowledge/",
        monitoring_api.AlertAcknowledgeView.as_view(),
        name="analytics-alert-acknowledge",
    ),
    path(
        "analytics/alerts/<int:pk>/resolve/",
        monitoring_api.AlertResolveView.as_view(),
        name="analytics-alert-resolve",
    ),
    path("analytics/web-vitals/", monitoring_api.WebVitalsView.as_view(), name="analytics-web-vitals"),
    path(
        "analytics/customers/scores/",
        scoring_api.CustomerScoreListView.as_view(),
        name="analytics-customer-scores",
    ),
    path(
        "analytics/customers/<int:customer_id>/score/",
        scoring_api.CustomerScoreView.as_view(),
        name="analytics-customer-score",
    ),
    path(
        "analytics/scoring/models/",
        scoring_api.ScoringModelsView.as_view(),
        name="analytics-scoring-models",
    ),
    path("analytics/dashboard/", dashboard_api.DashboardView.as_view(), name="analytics-dashboard"),
    path(
        "analytics/dashboard/live/",
        dashboard_api.DashboardLiveView.as_view(),
        name="analytics-dashboard-live",
    ),
]
