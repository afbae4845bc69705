"""The template editor in a real browser: the live preview follows typing (htmx, debounced),
at desktop and mobile widths; a syntax error shows its line; saving makes a version."""

import pytest

from messaging.models import EmailTemplate
from messaging.services import layout_save
from tests.conftest import browser_login
from tests.messaging.conftest import LAYOUT

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_live_preview_follows_the_editor_and_saving_creates_a_version(page, tenant):
    layout = layout_save(workspace=tenant.workspace, name="Default", html=LAYOUT)
    browser_login(page, tenant.owner)
    page.goto("/messages/templates/new/")
    page.fill("input[name=name]", "Launch")
    page.select_option("select[name=layout]", str(layout.pk))
    page.fill("textarea[name=html]", "<h1>Big news for {{ first_name }}</h1>")

    desktop = page.frame_locator("iframe.iframe-desktop")
    mobile = page.frame_locator("iframe.iframe-mobile")
    desktop.locator("h1", has_text="Big news for Ada").wait_for()
    page.wait_for_load_state("networkidle")
    assert mobile.locator("h1").inner_text() == "Big news for Ada"
    assert page.locator("iframe.iframe-desktop").evaluate("e => e.offsetWidth") == 600
    assert page.locator("iframe.iframe-mobile").evaluate("e => e.offsetWidth") == 375
    # CSS from the layout is inlined in what the preview shows
    assert "color: #0f766e" in desktop.locator("h1").get_attribute("style")

    page.fill("textarea[name=html]", "<p>one</p>\n{% if first_name %}")
    page.locator("#preview-problems", has_text="Line 2").wait_for()

    page.fill("textarea[name=html]", "<h1>Hello {{ first_name|default('there') }}</h1>")
    page.click("button:has-text('Save version')")
    page.locator(".flash-success", has_text="version 1").wait_for()
    template = EmailTemplate.objects.get(workspace=tenant.workspace, name="Launch")
    assert template.current_version.number == 1
    assert page.locator("#versions").inner_text().startswith("v1")


def test_the_sms_composer_inserts_merge_tags_and_shows_what_is_sent_and_its_cost(page, tenant):
    from contacts.models import AttributeDefinition

    AttributeDefinition.objects.create(workspace=tenant.workspace, key="plan", label="Plan")
    browser_login(page, tenant.owner)
    page.goto("/messages/sms/new/")
    page.fill("input[name=name]", "Cart reminder")
    body = page.locator("textarea[name=body]")
    body.fill("Hi , your cart: https://shop.test/cart")
    body.evaluate("e => e.setSelectionRange(3, 3)")  # the cursor after "Hi "
    page.select_option("select[data-insert-into]", label="First name")
    assert (
        body.input_value()
        == 'Hi {{ first_name | default("there") }}, your cart: https://shop.test/cart'
    )
    page.locator("#sms-rendered", has_text="Hi Ada, your cart: ").wait_for()
    rendered = page.locator("#sms-rendered").inner_text()
    assert "/m/s/" in rendered and rendered.endswith("Reply STOP to opt out.")
    assert page.locator("#sms-links").inner_text().strip() == "https://shop.test/cart"
    assert "a message" in page.locator("#sms-rendered-count").inner_text()
    # the workspace's own attributes are offered too
    page.select_option("select[data-insert-into]", label="Plan")
    assert '{{ attributes.plan | default("") }}' in body.input_value()
