"""Customer-facing pages."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("book/", views.book, name="book"),
    path("track/<str:token>/", views.track, name="track"),
    path("track/<str:token>/quote/", views.track_quote_decision, name="track-quote"),
    path("track/<str:token>/receipt/", views.receipt, name="receipt"),
    path("track/<str:token>/photos/<int:photo_id>/", views.tracked_photo, name="track-photo"),
    path(
        "track/<str:token>/photos/<int:photo_id>/<int:width>.<str:fmt>",
        views.tracked_photo,
        name="track-photo-variant",
    ),
    path("photos/<int:photo_id>/", views.photo, name="photo"),
    path("photos/<int:photo_id>/<int:width>.<str:fmt>", views.photo, name="photo-variant"),
    path("photos/<int:photo_id>/original/", views.photo_original, name="photo-original"),
    path("contact/confirm/<str:token>/", views.contact_confirm, name="contact-confirm"),
    path("account/repairs/", views.account_repairs, name="account-repairs"),
    path("demo/realtime/", views.realtime_demo, name="realtime-demo"),
    path("demo/realtime/new/", views.realtime_demo_new, name="realtime-demo-new"),
    path("demo/realtime/<str:reference>/fire/", views.realtime_demo_fire, name="realtime-demo-fire"),
]
