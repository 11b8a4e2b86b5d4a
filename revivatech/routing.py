"""WebSocket URL routes, gathered from the apps."""

from repairs.routing import websocket_urlpatterns as repairs_routes

websocket_urlpatterns = [*repairs_routes]
