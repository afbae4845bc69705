"""Email images: POST/GET /api/v1/messaging/media/ — checked by content, resized for email,
stored in the default storage, served publicly from an unguessable address."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from messaging.models import MediaAsset

pytestmark = pytest.mark.django_db
URL = "/api/v1/messaging/media/"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.SITE_URL = "https://app.tendril.test"
    return tmp_path / "media"


def image_bytes(fmt="PNG", size=(40, 20), mode="RGB", colour=(200, 30, 30), **save):
    out = io.BytesIO()
    Image.new(mode, size, colour).save(out, fmt, **save)
    return out.getvalue()


def upload(api, data, name="photo.png", alt="A red square", content_type="image/png", **extra):
    body = {"file": SimpleUploadedFile(name, data, content_type=content_type), **extra}
    if alt is not None:
        body["alt"] = alt
    return api.post(URL, body, format="multipart")


def stored_files(root):
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_an_upload_is_stored_and_served_publicly_to_email_clients(api, media_root):
    response = upload(api, image_bytes(size=(40, 20)))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["width"] == 40 and body["height"] == 20 and body["alt"] == "A red square"
    assert body["url"].startswith("https://app.tendril.test/media/media/")
    asset = MediaAsset.objects.get(pk=body["id"])
    assert asset.content_type == "image/png" and asset.size == body["size"] > 0
    assert asset.original_name == "photo.png"
    # Anyone may fetch it (an email client has no session), and it is immutable.
    path = body["url"].removeprefix("https://app.tendril.test")
    fetched = Client().get(path)
    assert fetched.status_code == 200 and fetched["Content-Type"] == "image/png"
    assert "immutable" in fetched["Cache-Control"]
    assert Image.open(io.BytesIO(b"".join(fetched.streaming_content))).size == (40, 20)
    assert api.get(URL).json()["results"][0]["id"] == body["id"]


def test_a_wide_image_is_resized_to_1200_px_and_a_jpeg_stays_jpeg_without_metadata(api):
    exif = Image.Exif()
    exif[0x010F] = "Phone maker"
    data = image_bytes("JPEG", size=(3000, 1500), exif=exif.tobytes())
    body = upload(api, data, name="wide.jpg", content_type="image/jpeg").json()
    assert (body["width"], body["height"]) == (1200, 600)
    asset = MediaAsset.objects.get(pk=body["id"])
    assert asset.content_type == "image/jpeg" and asset.file.name.endswith(".jpg")
    with asset.file.open("rb") as handle:
        stored = Image.open(io.BytesIO(handle.read()))
    assert stored.size == (1200, 600) and not stored.getexif()


def test_webp_becomes_png_or_jpeg_for_inboxes_that_do_not_show_webp(api):
    opaque = upload(api, image_bytes("WEBP"), name="a.webp", content_type="image/webp").json()
    clear = upload(api, image_bytes("WEBP", mode="RGBA", colour=(0, 0, 0, 0)), name="b.webp").json()
    assert opaque["content_type"] == "image/jpeg" and clear["content_type"] == "image/png"


def test_an_animated_gif_keeps_its_frames_when_resized(api):
    frames = [Image.new("RGB", (1600, 100), (i * 80, 0, 0)) for i in range(3)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    body = upload(api, out.getvalue(), name="a.gif", content_type="image/gif").json()
    asset = MediaAsset.objects.get(pk=body["id"])
    with asset.file.open("rb") as handle:
        stored = Image.open(io.BytesIO(handle.read()))
    assert stored.format == "GIF" and stored.size == (1200, 75) and stored.n_frames == 3


def _png_header_only(width, height):
    def chunk(kind, data):
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
)


@pytest.mark.parametrize(
    ("data", "name", "extra", "field", "says"),
    [
        (SVG, "logo.svg", {}, "file", "SVG"),
        (b"%PDF-1.7 not an image", "doc.png", {}, "file", "not a PNG"),
        (b"", "empty.png", {}, "file", "empty"),
        (_png_header_only(50_000, 50_000), "bomb.png", {}, "file", "pixels"),
        (image_bytes("BMP"), "old.bmp", {}, "file", "BMP"),
        (image_bytes()[:60], "cut.png", {}, "file", "cannot be read"),
        (image_bytes(), "ok.png", {"alt": "   "}, "alt", "required"),
        (image_bytes(), "ok.png", {"alt": "x" * 301}, "alt", "300"),
        (image_bytes(), "ok.png", {"caption": "hi"}, "caption", "unknown"),
    ],
)
def test_bad_uploads_are_a_400_naming_the_problem_and_store_nothing(
    api, media_root, data, name, extra, field, says
):
    body = {"alt": "An image", **extra}
    response = upload(api, data, name=name, **body)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert field in error["fields"] and says in error["message"], error
    assert MediaAsset.objects.count() == 0 and stored_files(media_root) == []


def test_a_file_over_the_size_limit_is_refused_before_it_is_decoded(api, settings, media_root):
    settings.MESSAGING_MEDIA_MAX_BYTES = 1000
    response = upload(api, image_bytes(size=(400, 400), colour=None, mode="RGB") + b"\0" * 2000)
    assert response.status_code == 400 and "limit" in response.json()["error"]["fields"]["file"]
    assert MediaAsset.objects.count() == 0 and stored_files(media_root) == []


def test_a_missing_file_or_alt_names_the_field(api):
    assert "file" in api.post(URL, {"alt": "x"}, format="multipart").json()["error"]["fields"]
    response = upload(api, image_bytes(), alt=None)
    assert response.status_code == 400 and "alt" in response.json()["error"]["fields"]


def test_another_workspaces_images_are_not_listed(api, outsider_api):
    mine = upload(api, image_bytes()).json()
    assert outsider_api.get(URL).json()["results"] == []
    assert [a["id"] for a in api.get(URL).json()["results"]] == [mine["id"]]


def test_a_member_session_uploads_too(member_client, ws):
    response = member_client.post(
        URL, {"file": SimpleUploadedFile("a.png", image_bytes()), "alt": "A square"}
    )
    assert response.status_code == 201, response.content


def test_only_stored_names_are_served(media_root):
    client = Client()
    assert client.get("/media/media/2026/01/../../../etc/passwd").status_code == 404
    assert client.get("/media/media/2026/01/nope-nope-nope-nope.png").status_code == 404
    assert client.get("/media/other/file.png").status_code == 404
