"""RevivaTech: the platform that runs a computer and phone repair shop."""

from .celery import app as celery_app

__all__ = ["celery_app"]
