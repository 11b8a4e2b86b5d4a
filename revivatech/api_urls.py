"""Everything under /api/v1/, gathered from the apps."""

from django.urls import include, path

from revivatech.security.views import obtain_auth_token

urlpatterns = [
    path("auth/token/", obtain_auth_token, name="api-token"),
    path("", include("repairs.api_urls")),
    path("", include("notifications.api_urls")),
    path("", include("payments.api_urls")),
    path("", include("analytics.api_urls")),
]
