"""Messages → Settings → Brand: the form that sets the logo (an uploaded email image),
colours and font; bad input is shown inline and changes nothing."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from messaging.models import MediaAsset, MessagingSettings
from messaging.services import messaging_settings

pytestmark = pytest.mark.django_db
URL = "/messages/settings/brand/"
GOOD = {
    "primary_color": "#ff6600",
    "text_color": "#111111",
    "background_color": "#eeeeee",
    "content_color": "#ffffff",
    "font": "georgia",
}


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def png():
    out = io.BytesIO()
    Image.new("RGB", (240, 80), (0, 100, 200)).save(out, "PNG")
    return SimpleUploadedFile("logo.png", out.getvalue(), content_type="image/png")


def test_the_settings_page_shows_the_brand_section(owner_client, ws):
    response = owner_client.get(reverse("messaging:settings"))
    assert response.status_code == 200
    assert b'id="brand-form"' in response.content and b'type="color"' in response.content
    assert b'value="helvetica" selected' in response.content


def test_the_brand_is_saved_with_an_uploaded_logo(owner_client, ws):
    response = owner_client.post(URL, {**GOOD, "logo": png(), "logo_alt": "Acme"})
    assert response.status_code == 302, response.content.decode()[:2000]
    current = MessagingSettings.objects.get(workspace=ws)
    assert (current.brand_primary_color, current.brand_font) == ("#ff6600", "georgia")
    assert current.brand_logo.alt == "Acme" and current.brand_logo.width == 240
    page = owner_client.get(reverse("messaging:settings")).content
    assert b'id="brand-logo"' in page and b'alt="Acme"' in page
    owner_client.post(URL, {**GOOD, "remove_logo": "on"})
    assert MessagingSettings.objects.get(workspace=ws).brand_logo is None


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        ({"primary_color": "orange"}, "primary_color", b"#rrggbb"),
        ({"font": "comic"}, "font", b"Select a valid choice"),
        ({"logo_alt": ""}, "logo_alt", b"Alt text is required"),
        (
            {"logo": SimpleUploadedFile("x.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>")},
            "logo",
            b"SVG",
        ),
    ],
)
def test_bad_input_is_shown_inline_and_changes_nothing(owner_client, ws, change, field, says):
    before = messaging_settings(workspace=ws)
    body = {**GOOD, "logo": png(), "logo_alt": "Acme", **change}
    response = owner_client.post(URL, body)
    assert response.status_code == 400
    assert says in response.content, response.content.decode()[:3000]
    after = MessagingSettings.objects.get(workspace=ws)
    assert (after.brand_primary_color, after.brand_font) == (
        before.brand_primary_color,
        before.brand_font,
    )
    assert after.brand_logo is None and MediaAsset.objects.count() == 0


def test_a_viewer_cannot_change_the_brand(ws, client):
    from tests.conftest import add_member, login_client

    viewer = add_member(ws, "viewer@example.com", "viewer")
    response = login_client(viewer).post(URL, GOOD)
    assert response.status_code == 403
    assert MessagingSettings.objects.filter(workspace=ws, brand_font="georgia").count() == 0
