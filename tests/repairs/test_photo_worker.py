"""A big upload never renders its variants inside a request when Celery workers exist (issue #15,
item 11): the upload returns once the original is stored, pages show a placeholder until the
worker has rendered the variants, then the variants themselves."""

from __future__ import annotations

import io
from contextlib import contextmanager

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from repairs import photos, services
from repairs.models import Photo
from repairs.tasks import render_photo_variants
from revivatech.celery import app

pytestmark = pytest.mark.django_db


@pytest.fixture
def renders(monkeypatch):
    """Counts every variant rendering, wherever it happens."""
    calls: list[str] = []
    real = photos.render_variant_files

    def spy(file, base_name):
        calls.append(base_name)
        return real(file, base_name)

    monkeypatch.setattr(photos, "render_variant_files", spy)
    return calls


@pytest.fixture
def broker(monkeypatch):
    """As deployed with a broker: tasks are queued for a worker (recorded here), never run inline."""
    queued: list[tuple] = []
    monkeypatch.setattr(
        render_photo_variants, "apply_async", lambda args=(), **options: queued.append(tuple(args))
    )
    with _eager(False):
        yield queued


@pytest.fixture
def eager():
    with _eager(True):
        yield


@contextmanager
def _eager(value: bool):
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = value
    try:
        yield
    finally:
        app.conf.task_always_eager = previous


def _big_jpeg() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (1600, 1200), "teal").save(buffer, "JPEG")
    return SimpleUploadedFile("big.jpg", buffer.getvalue(), content_type="image/jpeg")


def test_the_upload_queues_the_rendering_and_pages_show_a_placeholder_until_it_ran(
    client, ticket, renders, broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        photo = services.add_photo(ticket, image=_big_jpeg(), category="intake")
    assert renders == [] and broker == [(photo.pk,)]  # queued for the worker, not rendered here
    assert Photo.objects.get(pk=photo.pk).variants == []

    page = client.get(reverse("track", args=[ticket.tracking_token])).content.decode()
    assert f'data-photo-id="{photo.pk}"' in page and "data-photo-pending" in page
    url = reverse("track-photo-variant", args=[ticket.tracking_token, photo.pk, 640, "webp"])
    with django_capture_on_commit_callbacks(execute=True):
        pending = client.get(url)
        client.get(url)  # asked again: queued again at most once in a while
    assert pending.status_code == 200 and pending["Content-Type"] == "image/svg+xml"
    assert "no-store" in pending["Cache-Control"] and b"Preparing the photo" in pending.content
    assert renders == []  # still nothing rendered inside a request
    assert broker == [(photo.pk,), (photo.pk,)]

    assert render_photo_variants.run(photo.pk) == 6  # the worker runs the task
    assert len(renders) == 1
    ready = client.get(url)
    assert ready.status_code == 200 and ready["Content-Type"] == "image/webp"
    assert ready.content[:4] == b"RIFF"
    page = client.get(reverse("track", args=[ticket.tracking_token])).content.decode()
    assert "data-photo-pending" not in page


def test_without_a_broker_the_eager_task_renders_at_upload(
    ticket, renders, eager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        photo = services.add_photo(ticket, image=_big_jpeg(), category="intake")
    assert len(renders) == 1 and len(Photo.objects.get(pk=photo.pk).variants) == 6
