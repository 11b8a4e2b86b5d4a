"""Celery tasks of the repairs app: thin wrappers around services."""

from celery import shared_task

from . import services
from .models import Photo


@shared_task(name="repairs.render_photo_variants", acks_late=True, max_retries=3, default_retry_delay=10)
def render_photo_variants(photo_id: int) -> int:
    """Render a photo's AVIF/WebP variants; returns how many exist."""
    photo = Photo.objects.filter(pk=photo_id).first()
    if photo is None:  # deleted (or erased) before the worker got to it
        return 0
    return len(services.render_photo_variants(photo).variants)


from .readyby.tasks import train_ready_by_model  # noqa: E402, F401  (registered with the worker)
