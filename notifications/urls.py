"""Pages and webhooks of the notifications app (included at the site root)."""

from django.urls import path

from . import views

urlpatterns = [
    path("account/notifications/", views.preferences_page, name="notifications-preferences"),
    path(
        "account/notifications/devices/<int:device_id>/remove/",
        views.remove_device,
        name="notifications-remove-device",
    ),
    path(
        "notifications/preferences/<str:token>/",
        views.preferences_link,
        name="notifications-preferences-link",
    ),
    path("notifications/unsubscribe/<str:token>/", views.unsubscribe, name="notifications-unsubscribe"),
    path("notifications/o/<str:signed>.gif", views.open_pixel, name="notifications-open"),
    path("notifications/c/<str:signed>/", views.click, name="notifications-click"),
    path("notifications/webhooks/sendgrid/", views.sendgrid_webhook, name="notifications-sendgrid-webhook"),
    path("notifications/webhooks/twilio/status/", views.twilio_status, name="notifications-twilio-status"),
    path("notifications/webhooks/ses/", views.ses_webhook, name="notifications-ses-webhook"),
]
