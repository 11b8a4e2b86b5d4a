"""WebSocket routes of the repairs app."""

from django.urls import path

from . import consumers

websocket_urlpatterns = [
    path("ws/repairs/<str:reference>/", consumers.TicketConsumer.as_asgi()),
    path("ws/technician/", consumers.TechnicianConsumer.as_asgi()),
    path("ws/staff/", consumers.StaffConsumer.as_asgi()),
]
