"""Pages of the analytics app (included at the site root). None yet: the tracker talks to
/api/v1/events/ and /api/v1/analytics/consent/ (api_urls.py); the staff dashboard comes later."""

urlpatterns: list = []
