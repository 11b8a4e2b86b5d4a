"""The repairs app's part of /api/v1/ (included by revivatech/api_urls.py)."""

from rest_framework.routers import SimpleRouter

from .api import RepairViewSet

router = SimpleRouter()
router.register("repairs", RepairViewSet, basename="api-repair")

urlpatterns = router.urls
