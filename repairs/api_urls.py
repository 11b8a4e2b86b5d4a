"""The repairs app's part of /api/v1/ (included by revivatech/api_urls.py)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .api import RepairViewSet, realtime_stats

router = SimpleRouter()
router.register("repairs", RepairViewSet, basename="api-repair")

urlpatterns = [
    *router.urls,
    path("realtime/stats/", realtime_stats, name="api-realtime-stats"),
]
