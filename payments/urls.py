"""Pages and webhooks of the payments app (included at the site root)."""

urlpatterns: list = []
