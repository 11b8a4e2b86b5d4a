"""WebSocket URL routes, gathered from the apps."""

from analytics.dashboard.routing import websocket_urlpatterns as dashboard_routes
from repairs.routing import websocket_urlpatterns as repairs_routes

websocket_urlpatterns = [*repairs_routes, *dashboard_routes]
