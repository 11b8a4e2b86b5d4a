"""The payments app's part of /api/v1/ (included by revivatech/api_urls.py)."""

from rest_framework.routers import SimpleRouter

from .api import InvoiceViewSet

router = SimpleRouter()
router.register("invoices", InvoiceViewSet, basename="api-invoice")

urlpatterns = [*router.urls]
