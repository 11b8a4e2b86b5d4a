"""Root URLs: pages, admin, API (v1 + OpenAPI schema and docs), health probes."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from . import admin_views, health, pwa
from .observability import views as observability_views
from .security.api_docs import RedocDocsView, SwaggerDocsView
from .security.private_pages import LogoutView
from .security.views import csp_report

admin.site.site_header = "RevivaTech workshop"
admin.site.site_title = "RevivaTech admin"
admin.site.index_title = "Repairs, customers and history"

urlpatterns = [
    path("", include("repairs.urls")),
    path("", include("notifications.urls")),
    path("", include("payments.urls")),
    path("", include("analytics.urls")),
    path("account/login/", auth_views.LoginView.as_view(), name="login"),
    path("account/logout/", LogoutView.as_view(), name="logout"),
    # Before the admin's own "view on site" redirect, which checks no object permission.
    path(
        "admin/r/<path:content_type_id>/<path:object_id>/",
        admin_views.view_on_site,
        name="admin-view-on-site",
    ),
    path("admin/", admin.site.urls),
    path("api/v1/", include("revivatech.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SwaggerDocsView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", RedocDocsView.as_view(url_name="api-schema"), name="api-redoc"),
    path("sw.js", pwa.service_worker, name="service-worker"),
    path("manifest.webmanifest", pwa.manifest, name="webmanifest"),
    path("offline/", pwa.offline, name="offline"),
    path("csp-report/", csp_report, name="csp-report"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", observability_views.metrics_view, name="metrics"),
]

handler404 = "revivatech.views.page_not_found"
handler500 = "revivatech.views.server_error"
