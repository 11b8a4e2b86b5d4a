"""Pages and webhooks of the analytics app (included at the site root)."""

urlpatterns: list = []
