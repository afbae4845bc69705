"""Email images: upload (checked, resized, re-encoded) into the workspace's media storage.

The type is judged by the content, never by the name or the browser's claim: Pillow must read
a PNG, JPEG, GIF or WebP from the bytes; SVG (scripts, and most inboxes do not show it) and
everything else is refused with a message that says what the file is. The pixel count is
checked from the header before any pixel is decoded (a decompression bomb is refused). The
image is then re-encoded — which also drops metadata such as a photo's location — at most
MESSAGING_MEDIA_MAX_WIDTH px wide (twice the 600 px email width, for high-density screens);
WebP, which Outlook and older clients do not show, becomes PNG (with transparency) or JPEG.

Stored through Django's default storage under an unguessable name: the file system in
development (served publicly by views.media.media_file), S3-compatible storage in production
(config/settings/production.py). Email clients fetch images with no login, so `public_url`
is absolute.
"""

from __future__ import annotations

import io
import secrets
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.db.models import QuerySet
from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from workspaces.errors import ValidationFailed
from workspaces.models import User, Workspace

from ..models import MediaAsset

ACCEPTED = "a PNG, JPEG, GIF or WebP image"
ALT_MAX = 300
EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "GIF": "gif"}
CONTENT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif"}
JPEG_QUALITY = 85


def _refuse(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {message}", fields={field: message})


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def _read(upload: object) -> bytes:
    limit = settings.MESSAGING_MEDIA_MAX_BYTES
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise _refuse("file", f"the file is {_megabytes(size)}; the limit is {_megabytes(limit)}")
    data = upload.read(limit + 1)  # type: ignore[attr-defined]
    if len(data) > limit:
        raise _refuse("file", f"the file is over the limit of {_megabytes(limit)}")
    if not data:
        raise _refuse("file", "the file is empty")
    return bytes(data)


def _looks_like_svg(data: bytes) -> bool:
    head = data[:2048].lstrip().lower()
    return head.startswith((b"<svg", b"<?xml", b"<!doctype svg")) or b"<svg" in head


@dataclass
class Encoded:
    data: bytes
    format: str
    width: int
    height: int


def _opened(data: bytes) -> Image.Image:
    max_pixels = settings.MESSAGING_MEDIA_MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))  # reads the header only
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _refuse("file", f"the image has too many pixels; at most {max_pixels:,} are accepted")
    except UnidentifiedImageError:
        if _looks_like_svg(data):
            raise _refuse(
                "file",
                f"SVG images are not accepted (most inboxes do not show them); upload {ACCEPTED}",
            )
        raise _refuse("file", f"the file is not {ACCEPTED} (its content is not an image)")
    if image.format not in ("PNG", "JPEG", "GIF", "WEBP"):
        raise _refuse("file", f"{image.format} images are not accepted; upload {ACCEPTED}")
    width, height = image.size
    if width < 1 or height < 1 or width * height > max_pixels:
        raise _refuse(
            "file",
            f"the image is {width}×{height} pixels; at most {max_pixels:,} pixels are accepted",
        )
    return image


def _scaled_size(width: int, height: int) -> tuple[int, int]:
    limit = settings.MESSAGING_MEDIA_MAX_WIDTH
    if width <= limit:
        return width, height
    return limit, max(1, round(height * limit / width))


def _encode(image: Image.Image) -> Encoded:
    source_format = image.format or ""
    if source_format == "GIF" and getattr(image, "n_frames", 1) > 1:
        return _encode_animation(image)
    image = ImageOps.exif_transpose(image)  # a phone photo's rotation, before EXIF is dropped
    size = _scaled_size(*image.size)
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    if source_format == "JPEG" or (source_format == "WEBP" and not has_alpha):
        target, mode = "JPEG", "RGB"
    elif source_format == "GIF":
        target, mode = "GIF", None
    else:
        target, mode = "PNG", ("RGBA" if has_alpha else "RGB")
    if mode is not None and image.mode != mode:
        image = image.convert(mode)
    if size != image.size:
        if image.mode == "P":
            image = image.convert("RGBA")
        image = image.resize(size, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if target == "JPEG":
        image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    elif target == "GIF":
        image.save(out, "GIF", optimize=True)
    else:
        image.save(out, "PNG", optimize=True)
    return Encoded(out.getvalue(), target, *image.size)


def _encode_animation(image: Image.Image) -> Encoded:
    size = _scaled_size(*image.size)
    frames = []
    durations = []
    for frame in ImageSequence.Iterator(image):
        durations.append(frame.info.get("duration", 100))
        converted = frame.convert("RGBA")
        frames.append(
            converted.resize(size, Image.Resampling.LANCZOS)
            if size != converted.size
            else converted
        )
    out = io.BytesIO()
    frames[0].save(
        out,
        "GIF",
        save_all=True,
        append_images=frames[1:],
        duration=durations,
        loop=image.info.get("loop", 0),
        disposal=2,
        optimize=True,
    )
    return Encoded(out.getvalue(), "GIF", *size)


def media_upload(
    *, workspace: Workspace, upload: object | None, alt: str, user: User | None = None
) -> MediaAsset:
    """Check, resize and store an image; a refused upload stores nothing (ValidationFailed
    naming `file` or `alt`)."""
    alt = (alt or "").strip()
    if not alt:
        raise _refuse("alt", "alt text is required (what the image shows, for when it is not)")
    if len(alt) > ALT_MAX:
        raise _refuse("alt", f"alt text is at most {ALT_MAX} characters")
    if upload is None or not hasattr(upload, "read"):
        raise _refuse("file", f"choose {ACCEPTED} to upload")
    data = _read(upload)
    image = _opened(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
            encoded = _encode(image)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombWarning) as error:
        raise _refuse("file", f"the image cannot be read ({error}); upload {ACCEPTED}")
    name = f"{secrets.token_urlsafe(18)}.{EXTENSIONS[encoded.format]}"
    asset = MediaAsset(
        workspace=workspace,
        original_name=str(getattr(upload, "name", "") or "")[:255],
        content_type=CONTENT_TYPES[encoded.format],
        width=encoded.width,
        height=encoded.height,
        size=len(encoded.data),
        alt=alt,
        created_by=user,
    )
    asset.file.save(name, ContentFile(encoded.data), save=False)
    try:
        asset.save()
    except Exception:
        asset.file.delete(save=False)
        raise
    return asset


def public_url(asset: MediaAsset) -> str:
    """The image's address for email clients: absolute (SITE_URL for local files)."""
    url = asset.file.url
    if url.startswith("/"):
        return f"{settings.SITE_URL}{url}"
    return str(url)


def media_list(*, workspace: Workspace, limit: int = 200) -> QuerySet[MediaAsset]:
    return MediaAsset.objects.filter(workspace=workspace).order_by("-created_at", "-pk")[:limit]
