"""WSGI entry point (HTTP only; production runs the ASGI app)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "revivatech.settings")
application = get_wsgi_application()
