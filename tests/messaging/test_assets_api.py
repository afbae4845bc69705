"""Brand settings, saved blocks, template duplicates and starter templates through the
management API (/api/v1/messaging/…): tenant isolation and bad input naming the field."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from messaging.models import EmailTemplate, MessagingSettings, SavedBlock
from messaging.services import EmailContent, email_template_save
from messaging.services.media import media_upload
from tests.messaging.conftest import BODY, LAYOUT

pytestmark = pytest.mark.django_db
BRAND = "/api/v1/messaging/brand/"
SAVED = "/api/v1/messaging/saved-blocks/"
FOOTER = '<p>{{ workspace.physical_address }} <a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.SITE_URL = "https://app.tendril.test"


def an_image(workspace, alt="Logo"):
    out = io.BytesIO()
    Image.new("RGB", (300, 100), (10, 20, 30)).save(out, "PNG")
    return media_upload(
        workspace=workspace, upload=SimpleUploadedFile("logo.png", out.getvalue()), alt=alt
    )


# --- Brand ------------------------------------------------------------------------------------


def test_the_brand_is_read_and_set_with_a_logo_from_the_workspaces_images(api, ws):
    brand = api.get(BRAND).json()
    assert brand["font"] == "helvetica" and brand["logo_id"] is None
    assert "georgia" in brand["fonts"]
    logo = an_image(ws)
    response = api.patch(
        BRAND,
        {"logo_id": logo.pk, "primary_color": "#FF6600", "font": "georgia"},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["primary_color"] == "#ff6600" and body["font"] == "georgia"
    assert body["logo_id"] == logo.pk and body["logo_url"].startswith("https://app.tendril.test/")
    stored = MessagingSettings.objects.get(workspace=ws)
    assert stored.brand_logo_id == logo.pk and stored.brand_primary_color == "#ff6600"
    assert api.patch(BRAND, {"logo_id": None}, format="json").json()["logo_id"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"primary_color": "red"}, "primary_color"),
        ({"text_color": "#12345"}, "text_color"),
        ({"background_color": "#gggggg"}, "background_color"),
        ({"content_color": 7}, "content_color"),
        ({"font": "comic-sans"}, "font"),
        ({"logo_id": 999999}, "logo_id"),
        ({"colour": "#000000"}, "colour"),
    ],
)
def test_bad_brand_values_are_a_400_naming_the_field_and_change_nothing(api, ws, body, field):
    before = api.get(BRAND).json()
    response = api.patch(BRAND, {"primary_color": "#000000", **body}, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert api.get(BRAND).json() == before


def test_another_workspaces_image_cannot_be_the_logo(api, other_ws):
    theirs = an_image(other_ws)
    response = api.patch(BRAND, {"logo_id": theirs.pk}, format="json")
    assert response.status_code == 400 and "logo_id" in response.json()["error"]["fields"]


# --- Saved blocks -----------------------------------------------------------------------------

PROMO = {"id": "p1", "type": "button", "text": "Shop the sale", "href": "https://example.com/sale"}


def test_blocks_are_saved_listed_and_deleted(api, ws):
    created = api.post(SAVED, {"name": "Sale button", "block": PROMO}, format="json")
    assert created.status_code == 201, created.content
    footer = api.post(
        SAVED, {"name": "Footer", "block": {"id": "f", "type": "footer"}}, format="json"
    )
    assert footer.status_code == 201, footer.content
    listed = api.get(SAVED).json()["results"]
    assert [b["name"] for b in listed] == ["Footer", "Sale button"]
    assert listed[1]["block"] == PROMO
    assert api.delete(SAVED, {"id": created.json()["id"]}, format="json").status_code == 204
    assert api.delete(f"{SAVED}{footer.json()['id']}/").status_code == 204
    assert api.get(SAVED).json()["results"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"block": PROMO}, "name"),
        ({"name": "  ", "block": PROMO}, "name"),
        ({"name": "x"}, "block"),
        ({"name": "x", "block": "button"}, "block"),
        ({"name": "x", "block": {"type": "marquee"}}, "block"),
        ({"name": "x", "block": {**PROMO, "condition": {"all": []}}}, "block"),
        ({"name": "x", "block": PROMO, "extra": 1}, "extra"),
    ],
)
def test_bad_saved_blocks_are_a_400_naming_the_field_and_store_nothing(api, body, field):
    response = api.post(SAVED, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert SavedBlock.objects.count() == 0


def test_a_saved_block_name_is_unique_in_a_workspace_only(api, outsider_api):
    assert api.post(SAVED, {"name": "Promo", "block": PROMO}, format="json").status_code == 201
    again = api.post(SAVED, {"name": "Promo", "block": PROMO}, format="json")
    assert again.status_code == 400 and "name" in again.json()["error"]["fields"]
    theirs = outsider_api.post(SAVED, {"name": "Promo", "block": PROMO}, format="json")
    assert theirs.status_code == 201


def test_another_workspaces_saved_blocks_are_invisible_and_cannot_be_deleted(api, outsider_api):
    mine = api.post(SAVED, {"name": "Promo", "block": PROMO}, format="json").json()
    assert outsider_api.get(SAVED).json()["results"] == []
    assert outsider_api.delete(f"{SAVED}{mine['id']}/").status_code == 404
    assert outsider_api.delete(SAVED, {"id": mine["id"]}, format="json").status_code == 404
    assert SavedBlock.objects.filter(pk=mine["id"]).exists()


# --- Duplicate --------------------------------------------------------------------------------


def code_template(ws, name="Welcome"):
    content = EmailContent(
        name=name, subject="Hi {{ first_name }}", html=BODY + FOOTER, preheader="Hello"
    )
    return email_template_save(workspace=ws, content=content)


def test_a_template_is_duplicated_as_a_copy_with_its_own_history(api, ws):
    original = code_template(ws)
    response = api.post(f"/api/v1/messaging/email-templates/{original.pk}/duplicate/")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "Welcome (copy)" and body["id"] != original.pk
    copy = EmailTemplate.objects.get(pk=body["id"])
    assert (copy.subject, copy.html, copy.preheader) == (original.subject, original.html, "Hello")
    assert copy.versions.count() == 1 and copy.current_version.number == 1
    assert copy.current_version.compiled_html == original.current_version.compiled_html


def test_a_long_name_stays_within_the_limit_when_copied(api, ws):
    original = code_template(ws, name="x" * 120)
    body = api.post(f"/api/v1/messaging/email-templates/{original.pk}/duplicate/").json()
    assert len(body["name"]) == 120 and body["name"].endswith(" (copy)")


def test_another_workspaces_template_cannot_be_duplicated(outsider_api, ws):
    original = code_template(ws)
    response = outsider_api.post(f"/api/v1/messaging/email-templates/{original.pk}/duplicate/")
    assert response.status_code == 404
    assert EmailTemplate.objects.count() == 1


def test_a_template_with_a_layout_keeps_it(api, ws):
    from messaging.services import layout_save

    layout = layout_save(workspace=ws, name="Default", html=LAYOUT)
    content = EmailContent(name="T", subject="Hi", html=BODY, layout=layout)
    original = email_template_save(workspace=ws, content=content)
    body = api.post(f"/api/v1/messaging/email-templates/{original.pk}/duplicate/").json()
    assert body["layout"] == layout.pk


# --- Starters ---------------------------------------------------------------------------------


def test_the_starter_templates_are_listed_with_their_documents(api):
    starters = api.get("/api/v1/messaging/starter-templates/").json()["results"]
    assert [s["key"] for s in starters] == [
        "welcome",
        "newsletter",
        "abandoned_cart",
        "receipt",
        "re_engagement",
    ]
    for starter in starters:
        assert starter["name"] and starter["subject"] and starter["preheader"]
        blocks = starter["document"]["blocks"]
        assert starter["document"]["version"] == 1
        assert [b["type"] for b in blocks].count("footer") == 1


def test_a_block_template_is_duplicated_with_its_document(api, ws):
    from messaging import starters

    welcome = starters.starter("welcome")
    created = api.post(
        "/api/v1/messaging/email-templates/",
        {
            "name": "Welcome",
            "subject": welcome.subject,
            "preheader": welcome.preheader,
            "document": welcome.document,
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    copy = api.post(f"/api/v1/messaging/email-templates/{created.json()['id']}/duplicate/")
    assert copy.status_code == 201, copy.content
    duplicate = EmailTemplate.objects.get(pk=copy.json()["id"])
    assert duplicate.name == "Welcome (copy)" and duplicate.document == welcome.document
    assert duplicate.current_version.document == welcome.document
