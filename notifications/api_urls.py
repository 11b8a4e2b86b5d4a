"""The notifications app's part of /api/v1/ (included by revivatech/api_urls.py)."""

from django.urls import path

from . import api

urlpatterns = [
    path("notifications/preferences/", api.PreferencesView.as_view(), name="api-notification-preferences"),
    path("notifications/push-tokens/", api.PushTokensView.as_view(), name="api-push-tokens"),
    path(
        "notifications/push-tokens/<int:device_id>/",
        api.PushTokenDetailView.as_view(),
        name="api-push-token",
    ),
    path("notifications/stats/", api.StatsView.as_view(), name="api-notification-stats"),
    path(
        "notifications/tickets/<str:reference>/messages/",
        api.TicketTimelineView.as_view(),
        name="api-ticket-messages",
    ),
]
