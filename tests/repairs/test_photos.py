"""The repair photo pipeline: checks on upload, normalisation, AVIF/WebP variants, private originals."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from repairs import services
from repairs.models import Photo
from repairs.tasks import render_photo_variants

pytestmark = pytest.mark.django_db

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def jpeg_with_exif(size=(400, 300), orientation=6) -> SimpleUploadedFile:
    picture = Image.new("RGB", size, "navy")
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x010F] = "SpyCam Inc."  # Make
    exif.get_ifd(GPS_IFD)[2] = (51.0, 30.0, 0.0)  # GPSLatitude
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", exif=exif)
    return SimpleUploadedFile("IMG_0001.JPG", buffer.getvalue(), "image/jpeg")


def test_upload_is_normalised_into_exif_free_avif_and_webp_variants(ticket):
    upload = jpeg_with_exif()
    original_bytes = upload.read()
    upload.seek(0)
    photo = services.add_photo(ticket, image=upload, category="intake")

    assert (photo.width, photo.height) == (300, 400)  # orientation 6: upright is portrait
    assert photo.image.name.endswith(".jpg") and photo.image.read() == original_bytes  # original kept
    photo = services.render_photo_variants(photo)
    assert sorted((v["format"], v["width"], v["height"]) for v in photo.variants) == [
        ("avif", 300, 400),
        ("webp", 300, 400),
    ]
    for variant in photo.variants:
        from django.core.files.storage import default_storage

        with default_storage.open(variant["name"]) as file, Image.open(file) as image:
            assert image.format == variant["format"].upper()
            assert image.size == (300, 400)
            assert dict(image.getexif()) == {}  # no orientation, make or GPS left


def test_large_photos_are_bounded_and_cut_into_standard_widths(ticket, settings):
    settings.PHOTO_MAX_DIMENSION = 2048
    buffer = io.BytesIO()
    Image.new("RGB", (3000, 2000), "olive").save(buffer, "PNG")
    photo = services.add_photo(
        ticket, image=SimpleUploadedFile("big.png", buffer.getvalue(), "image/png"), category="repair"
    )
    assert render_photo_variants.run(photo.pk) == 6  # the Celery task's body, as a worker runs it
    photo.refresh_from_db()
    widths = sorted({(v["width"], v["height"]) for v in photo.variants})
    assert widths == [(320, 213), (640, 427), (1280, 853)]
    sizes = {(v["format"], v["width"]): v["bytes"] for v in photo.variants}
    assert sizes[("avif", 1280)] < sizes[("webp", 1280)]  # AVIF is the smaller one


def test_rendering_twice_does_nothing_more(ticket):
    photo = services.add_photo(ticket, image=jpeg_with_exif(), category="intake")
    first = services.render_photo_variants(photo).variants
    assert services.render_photo_variants(photo).variants == first


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"%PDF-1.4 not an image", "not an image we can read"),
        (b"GIF89a" + b"\x00" * 20, "not an image we can read"),
    ],
)
def test_files_that_are_not_images_are_refused(ticket, content, message):
    with pytest.raises(ValidationError, match=message):
        services.add_photo(ticket, image=SimpleUploadedFile("x.jpg", content), category="repair")
    assert not Photo.objects.exists()


def test_decompression_bombs_and_oversized_files_are_refused(ticket, settings):
    settings.PHOTO_MAX_PIXELS = 10_000
    buffer = io.BytesIO()
    Image.new("L", (150, 150)).save(buffer, "PNG")  # 22,500 px: between the limit and twice it
    with pytest.raises(ValidationError, match="too many pixels"):
        services.add_photo(ticket, image=SimpleUploadedFile("b.png", buffer.getvalue()), category="repair")
    buffer = io.BytesIO()
    Image.new("L", (400, 400)).save(buffer, "PNG")  # far past it
    with pytest.raises(ValidationError, match="too many pixels"):
        services.add_photo(ticket, image=SimpleUploadedFile("b.png", buffer.getvalue()), category="repair")
    settings.PHOTO_MAX_PIXELS = 50_000_000
    settings.PHOTO_MAX_UPLOAD_BYTES = 1000
    with pytest.raises(ValidationError, match="the limit is 1000 bytes"):
        services.add_photo(ticket, image=jpeg_with_exif(size=(800, 800)), category="repair")
    assert not Photo.objects.exists()


def test_customers_get_variants_never_the_original(client, ticket, customer, staff_user):
    photo = services.add_photo(ticket, image=jpeg_with_exif(), category="intake")
    render_photo_variants.run(photo.pk)  # the worker's job once the upload committed
    response = client.get(reverse("track-photo-variant", args=[ticket.tracking_token, photo.pk, 300, "avif"]))
    assert response.status_code == 200 and response["Content-Type"] == "image/avif"
    assert b"SpyCam" not in response.content
    assert (
        client.get(
            reverse("track-photo-variant", args=[ticket.tracking_token, photo.pk, 301, "avif"])
        ).status_code
        == 404
    )
    assert (
        client.get(
            reverse("track-photo-variant", args=[ticket.tracking_token, photo.pk, 300, "png"])
        ).status_code
        == 404
    )

    client.force_login(customer.user)
    assert client.get(reverse("photo-original", args=[photo.pk])).status_code == 404
    client.force_login(staff_user)
    original = client.get(reverse("photo-original", args=[photo.pk]))
    assert original.status_code == 200 and "attachment" in original["Content-Disposition"]
    assert b"SpyCam" in b"".join(original.streaming_content)


def test_tracking_page_uses_responsive_pictures_with_dimensions(client, ticket):
    buffer = io.BytesIO()
    Image.new("RGB", (1600, 1200), "teal").save(buffer, "JPEG")
    photo = services.add_photo(
        ticket, image=SimpleUploadedFile("p.jpg", buffer.getvalue()), category="repair"
    )
    html = client.get(reverse("track", args=[ticket.tracking_token])).content.decode()
    base = f"/track/{ticket.tracking_token}/photos/{photo.pk}/"
    assert '<source type="image/avif"' in html
    assert f"{base}320.avif 320w, {base}640.avif 640w, {base}1280.avif 1280w" in html
    assert f'src="{base}640.webp"' in html
    assert 'width="1280" height="960"' in html and 'loading="lazy"' in html
