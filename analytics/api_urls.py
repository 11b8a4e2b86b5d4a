"""The analytics app's part of /api/v1/ (included by revivatech/api_urls.py)."""

urlpatterns: list = []
