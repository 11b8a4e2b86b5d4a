"""WebSocket route of the live dashboard (gathered by revivatech/routing.py)."""

from django.urls import path

from . import consumers

websocket_urlpatterns = [path("ws/dashboard/", consumers.DashboardConsumer.as_asgi())]
