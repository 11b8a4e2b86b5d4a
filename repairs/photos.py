"""Repair photo processing: checking uploads, normalising them and rendering WebP/AVIF variants.

Uploads are checked (type, byte size, pixel count against decompression bombs) before anything
is stored. The original is kept privately for staff; customers only ever get normalised
variants: orientation applied, EXIF (GPS, device serials) stripped, size bounded, in several
widths as AVIF and WebP.
"""

from __future__ import annotations

import io
import secrets
import warnings
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, ImageOps, UnidentifiedImageError

#: Formats accepted on upload (Pillow's name → file suffix).
UPLOAD_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "AVIF": "avif"}
#: Variant widths and formats served to browsers (AVIF first: smallest; WebP: universal fallback).
VARIANT_WIDTHS = (320, 640, 1280)
VARIANT_FORMATS = ("avif", "webp")
CONTENT_TYPES = {"avif": "image/avif", "webp": "image/webp"}
_SAVE_OPTIONS = {"avif": {"quality": 60, "speed": 8}, "webp": {"quality": 78, "method": 4}}


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


@dataclass(frozen=True)
class CheckedUpload:
    suffix: str
    width: int  # after EXIF orientation
    height: int


def check_upload(file: IO[bytes], size: int | None) -> CheckedUpload:
    """Refuse what is not an image we accept, too many bytes or too many pixels."""
    limit = settings.PHOTO_MAX_UPLOAD_BYTES
    if size is not None and size > limit:
        raise ValidationError(
            {"image": f"The photo is {human_size(size)}; the limit is {human_size(limit)}."}
        )
    Image.MAX_IMAGE_PIXELS = settings.PHOTO_MAX_PIXELS
    try:
        file.seek(0)
        with warnings.catch_warnings():
            # Pillow only warns between the limit and twice the limit: refuse those too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(file) as picture:
                picture.verify()  # must come straight after open
            file.seek(0)
            with Image.open(file) as picture:
                detected = picture.format
                width, height = picture.size
                orientation = picture.getexif().get(0x0112, 1)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise ValidationError(
            {"image": f"The image has too many pixels (the limit is {settings.PHOTO_MAX_PIXELS:,})."}
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ValidationError(
            {"image": "The file is not an image we can read (JPEG, PNG, WebP, AVIF, GIF)."}
        ) from exc
    finally:
        file.seek(0)
    if detected not in UPLOAD_FORMATS:
        raise ValidationError({"image": f"Upload a JPEG, PNG, WebP, AVIF or GIF photo, not {detected}."})
    if orientation in (5, 6, 7, 8):  # rotated a quarter turn: width and height swap
        width, height = height, width
    return CheckedUpload(UPLOAD_FORMATS[detected], width, height)


def normalised(file: IO[bytes]) -> Image.Image:
    """The upload upright, in RGB(A), without metadata, bounded to PHOTO_MAX_DIMENSION."""
    Image.MAX_IMAGE_PIXELS = settings.PHOTO_MAX_PIXELS
    file.seek(0)
    with Image.open(file) as picture:
        picture.seek(0)  # first frame of an animation
        upright = ImageOps.exif_transpose(picture)
        has_alpha = upright.mode in ("RGBA", "LA") or (upright.mode == "P" and "transparency" in upright.info)
        clean = upright.convert("RGBA" if has_alpha else "RGB")
    bound = settings.PHOTO_MAX_DIMENSION
    clean.thumbnail((bound, bound), Image.Resampling.LANCZOS)
    clean.info.clear()  # drop EXIF/XMP/ICC text chunks carried in info
    return clean


def planned_widths(width: int | None) -> list[int]:
    """Variant widths for an image ``width`` wide: every standard width it can fill, and at least one."""
    if not width:
        return [VARIANT_WIDTHS[0]]
    fitting = [w for w in VARIANT_WIDTHS if w <= width]
    return fitting or [width]


def render_variant_files(file: IO[bytes], base_name: str) -> list[dict]:
    """Write every variant of ``file`` to the private storage; return their descriptions."""
    image = normalised(file)
    variants = []
    for width in planned_widths(image.width):
        height = max(1, round(image.height * width / image.width))
        resized = image if width == image.width else image.resize((width, height), Image.Resampling.LANCZOS)
        for fmt in VARIANT_FORMATS:
            buffer = io.BytesIO()
            resized.save(buffer, fmt.upper(), **_SAVE_OPTIONS[fmt])
            name = default_storage.save(
                f"{base_name}-{secrets.token_hex(4)}-{width}.{fmt}", ContentFile(buffer.getvalue())
            )
            variants.append(
                {"format": fmt, "width": width, "height": height, "name": name, "bytes": buffer.tell()}
            )
    return variants


PLACEHOLDER_CONTENT_TYPE = "image/svg+xml"
#: Width of the placeholder's drawing (its height keeps the photo's proportions).
PLACEHOLDER_WIDTH = 320


def placeholder_svg(width: int | None, height: int | None) -> str:
    """A grey card of the photo's proportions saying the photo is being prepared."""
    box_height = round(PLACEHOLDER_WIDTH * height / width) if width and height else 240
    box_height = max(60, min(box_height, 4 * PLACEHOLDER_WIDTH))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{PLACEHOLDER_WIDTH}" height="{box_height}" '
        f'viewBox="0 0 {PLACEHOLDER_WIDTH} {box_height}" role="img" aria-label="Preparing the photo">'
        f'<rect width="100%" height="100%" fill="#e8ecef"/>'
        f'<text x="50%" y="50%" text-anchor="middle" dominant-baseline="middle" '
        f'font-family="system-ui, sans-serif" font-size="16" fill="#4a5560">Preparing the photo…</text>'
        f"</svg>"
    )


def delete_variant_files(variants: list[dict]) -> None:
    for variant in variants:
        default_storage.delete(variant["name"])


def find_variant(variants: list[dict], width: int | None, fmt: str) -> dict | None:
    """The variant of ``fmt`` at ``width`` (the largest when ``width`` is None)."""
    of_format = [v for v in variants if v["format"] == fmt]
    if not of_format:
        return None
    if width is None:
        return max(of_format, key=lambda v: v["width"])
    return next((v for v in of_format if v["width"] == width), None)


def picture_sources(photo, url_for) -> dict:
    """What a <picture> needs: AVIF and WebP srcsets, a fallback src and the intrinsic size.

    ``url_for(width, fmt)`` builds a variant URL (the tracking link's or the logged-in one);
    the widths are planned from the photo's size, so the markup never waits for rendering.
    """
    widths = planned_widths(photo.width)
    height = photo.height or 0
    return {
        "avif_srcset": ", ".join(f"{url_for(w, 'avif')} {w}w" for w in widths),
        "webp_srcset": ", ".join(f"{url_for(w, 'webp')} {w}w" for w in widths),
        "src": url_for(widths[min(1, len(widths) - 1)], "webp"),
        "width": widths[-1],
        "height": round(height * widths[-1] / photo.width) if photo.width and height else None,
        "full": url_for(widths[-1], "webp"),
        "pending": not photo.variants,  # the worker has not rendered it yet: a placeholder shows
    }
