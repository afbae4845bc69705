"""The block editor's pages: "New email" offers blocks / a starter / code; a block template
opens in the editor island (its boot data: the document, the workspace's real merge tags), a
code template keeps the code editor; another workspace's template is a 404."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from contacts.models import AttributeDefinition
from messaging.models import EmailTemplate
from messaging.services import EmailContent, email_template_save

from .conftest import make_template

pytestmark = pytest.mark.django_db

DOCUMENT = {
    "version": 1,
    "settings": {"width": 600},
    "blocks": [
        {"id": "h1", "type": "heading", "text": "Hello", "level": 1},
        {"id": "f1", "type": "footer"},
    ],
}


def boot_of(response) -> dict:
    html = response.content.decode()
    start = html.index('<script id="email-boot" type="application/json">') + len(
        '<script id="email-boot" type="application/json">'
    )
    return json.loads(html[start : html.index("</script>", start)])


@pytest.fixture
def block_template(ws):
    content = EmailContent(name="Blocks", subject="Hi {{ first_name }}", document=DOCUMENT)
    return email_template_save(workspace=ws, content=content)


def test_new_email_offers_blocks_first_then_a_starter_then_code(owner_client):
    response = owner_client.get(reverse("messaging:template_choose"))
    assert response.status_code == 200
    html = response.content.decode()
    blocks = html.index('id="choose-blocks"')
    assert blocks < html.index('id="choose-starter"') < html.index('id="choose-code"')
    assert reverse("messaging:template_new_blocks") in html
    listing = owner_client.get(reverse("messaging:list")).content.decode()
    assert reverse("messaging:template_choose") in listing


def test_the_block_editor_boots_with_the_workspaces_merge_tags(owner_client, ws):
    AttributeDefinition.objects.create(workspace=ws, key="plan", label="Plan")
    response = owner_client.get(reverse("messaging:template_new_blocks") + "?start=starter")
    assert response.status_code == 200
    assert 'id="email-editor"' in response.content.decode()
    boot = boot_of(response)
    assert boot["template"] is None and boot["starters"] is True
    tags = {t["label"]: t["tag"] for t in boot["mergeTags"]}
    assert tags["First name"] == '{{ first_name | default("there") }}'
    assert tags["Plan"] == '{{ attributes.plan | default("") }}'


def test_merge_tags_offer_the_properties_of_the_events_received(owner_client, ws):
    from contacts.models import EventDefinition

    EventDefinition.objects.create(
        workspace=ws, name="Checkout Started", property_keys=["cart_url", "order total"]
    )
    EventDefinition.objects.create(workspace=ws, name="Order Completed", property_keys=["cart_url"])
    boot = boot_of(owner_client.get(reverse("messaging:template_new_blocks")))
    tags = {t["label"]: t for t in boot["mergeTags"]}
    cart = next(t for label, t in tags.items() if label.startswith("cart_url ("))
    assert cart["tag"] == '{{ event.properties.cart_url | default("") }}'
    assert "Checkout Started" in cart["label"] and "Order Completed" in cart["label"]
    total = tags["order total (Checkout Started)"]
    assert total["tag"] == "{{ event.properties['order total'] | default(\"\") }}"


def test_a_block_template_opens_in_the_island_and_a_code_template_in_the_code_editor(
    owner_client, ws, layout, block_template
):
    response = owner_client.get(reverse("messaging:template_edit", args=[block_template.pk]))
    assert response.status_code == 200
    boot = boot_of(response)
    assert boot["template"]["id"] == block_template.pk
    assert boot["template"]["document"] == DOCUMENT
    assert boot["template"]["version"] == 1
    code = make_template(ws, layout, name="Code")
    html = owner_client.get(reverse("messaging:template_edit", args=[code.pk])).content.decode()
    assert 'id="email-editor"' not in html and 'name="html"' in html


def test_another_workspaces_block_template_is_a_404(outsider_client, block_template):
    url = reverse("messaging:template_edit", args=[block_template.pk])
    assert outsider_client.get(url).status_code == 404
    assert outsider_client.post(url, {"name": "x"}).status_code == 404
    block_template.refresh_from_db()
    assert block_template.name == "Blocks" and block_template.document == DOCUMENT


def test_duplicate_on_the_list_copies_a_block_template_and_opens_the_copy(
    owner_client, ws, block_template
):
    listing = owner_client.get(reverse("messaging:list")).content.decode()
    assert reverse("messaging:template_duplicate", args=[block_template.pk]) in listing
    response = owner_client.post(reverse("messaging:template_duplicate", args=[block_template.pk]))
    copy = EmailTemplate.objects.get(workspace=ws, name="Blocks (copy)")
    assert response.status_code == 302
    assert response.url == reverse("messaging:template_edit", args=[copy.pk])
    assert copy.document == DOCUMENT


def test_duplicate_of_another_workspaces_template_is_a_404_and_copies_nothing(
    outsider_client, block_template
):
    url = reverse("messaging:template_duplicate", args=[block_template.pk])
    assert outsider_client.post(url).status_code == 404
    assert outsider_client.get(url).status_code in (404, 405)
    assert EmailTemplate.objects.filter(name__endswith="(copy)").count() == 0
