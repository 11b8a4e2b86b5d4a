"""Pages and webhooks of the notifications app (included at the site root)."""

urlpatterns: list = []
