"""Request and upload size limits: a body over REQUEST_MAX_BODY_BYTES is refused with 413 before it
is read (declared or chunked), a photo over PHOTO_MAX_UPLOAD_BYTES gets a clear form error, and
oversized non-file data a 400."""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token

from repairs.models import Photo
from tests.factories import image_file
from tests.repairs.test_admin import action_form, change_url, form_values, post_action

pytestmark = pytest.mark.django_db


def test_an_admin_upload_over_the_request_limit_is_a_413_page(client, settings, technician, ticket):
    settings.REQUEST_MAX_BODY_BYTES = 40_000
    client.force_login(technician)
    url = change_url(ticket)
    data = form_values(client, url, "ticket-photo")
    big = image_file("big.png", size=(600, 600))  # noise-free PNG, but with a padded name/content below
    big.file.write(b"\0" * 60_000)
    big.file.seek(0)
    data.update({"photo-upload": big, "photo-category": "intake"})
    response = client.post(url, data)
    assert response.status_code == 413
    assert "The request is too large: the limit is 0.0 MB" in response.content.decode()
    assert not Photo.objects.exists()


def test_a_photo_over_the_photo_limit_gets_a_clear_message(client, settings, technician, ticket):
    settings.PHOTO_MAX_UPLOAD_BYTES = 100
    client.force_login(technician)
    response = post_action(
        client, ticket, "photo", upload=image_file("big.png", size=(400, 400)), category="intake"
    )
    assert response.status_code == 200
    assert "the limit is 100 bytes" in action_form(response, "photo").errors["upload"][0]
    assert not Photo.objects.exists()


def test_an_api_body_over_the_limit_is_a_413_in_the_error_shape(client, settings, technician, ticket):
    settings.REQUEST_MAX_BODY_BYTES = 10_000
    token = Token.objects.create(user=technician)
    response = client.post(
        f"/api/v1/repairs/{ticket.reference}/notes/",
        {"text": "x" * 20_000},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token.key}",
    )
    assert response.status_code == 413
    assert response.json() == {"detail": "The request is too large: the limit is 0.0 MB.", "errors": {}}


def test_form_data_over_the_memory_limit_is_a_400(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 5_000
    response = client.post(reverse("book"), {"name": "x" * 10_000})
    assert response.status_code == 400


def test_defaults_bound_bodies_and_photos(settings):
    assert settings.PHOTO_MAX_UPLOAD_BYTES == 15 * 1024 * 1024
    assert settings.REQUEST_MAX_BODY_BYTES == settings.PHOTO_MAX_UPLOAD_BYTES + 1024 * 1024
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 2_621_440


def _raw_post(base_url: str, path: str, chunks: list[bytes], headers: dict[str, str]) -> tuple[int, bytes]:
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.putrequest("POST", path)
    for name, value in headers.items():
        connection.putheader(name, value)
    connection.endheaders()
    try:
        for chunk in chunks:
            connection.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        connection.send(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server answered and closed before reading everything
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, body


@pytest.mark.browser
def test_a_chunked_body_without_content_length_is_cut_off_at_the_limit(live_asgi_url, settings):
    """Django's ASGI handler would spool any body to disk before the view runs: the ASGI wrapper
    counts the bytes as they arrive."""
    settings.REQUEST_MAX_BODY_BYTES = 50_000
    status, body = _raw_post(
        live_asgi_url,
        "/csp-report/",
        [b"x" * 10_000] * 10,
        {"Transfer-Encoding": "chunked", "Content-Type": "application/csp-report"},
    )
    assert status == 413
    assert b"too large" in body
    small_status, _ = _raw_post(
        live_asgi_url,
        "/csp-report/",
        [b'{"csp-report": {"blocked-uri": "inline"}}'],
        {"Transfer-Encoding": "chunked", "Content-Type": "application/csp-report"},
    )
    assert small_status == 204
