"""ASGI entry point: HTTP and WebSockets in one server process (uvicorn)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "revivatech.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from channels.sessions import SessionMiddlewareStack  # noqa: E402

from analytics.asgi import with_event_ingestion  # noqa: E402
from revivatech import gc_tuning  # noqa: E402
from revivatech.observability.sockets import SocketObservabilityMiddleware  # noqa: E402
from revivatech.routing import websocket_urlpatterns  # noqa: E402
from revivatech.security.asgi import BodySizeLimit  # noqa: E402
from revivatech.sockets import SessionAuthMiddleware  # noqa: E402


def build_application(http_app=None) -> ProtocolTypeRouter:
    """HTTP to Django (event beacons through a lean route in front of it); WebSockets
    (same-origin only, with the session's user) to the consumers."""
    return ProtocolTypeRouter(
        {
            "http": BodySizeLimit(with_event_ingestion(http_app or django_asgi_app)),
            "websocket": AllowedHostsOriginValidator(
                SessionMiddlewareStack(
                    SessionAuthMiddleware(SocketObservabilityMiddleware(URLRouter(websocket_urlpatterns)))
                )
            ),
        }
    )


application = build_application()
# A web process holds thousands of sockets: keep the collector's pauses short (revivatech/gc_tuning.py).
gc_tuning.tune_for_long_running_process()
