"""The block email editor in a real browser (issue #15): a marketer composes without HTML —
blocks from the palette, moved by keyboard and by drag, undo/redo, a merge tag with its
fallback, columns, a dynamic block. Screenshots go to artifacts/email_editor/ (git-ignored)."""

from pathlib import Path

import pytest

from tests.conftest import browser_login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "email_editor"


def _shot(page, name):  # noqa: ANN001
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def types(page):  # noqa: ANN001
    return page.evaluate("window.__tendrilEmail.doc.blocks.map(b => b.type)")


def wait_types(page, expected):  # noqa: ANN001
    page.wait_for_function(
        "want => JSON.stringify(window.__tendrilEmail?.doc.blocks.map(b => b.type)) === want",
        arg=str(expected).replace("'", '"').replace(" ", ""),
    )


def test_blocks_are_added_moved_undone_and_personalised_without_html(page, tenant):
    from contacts.models import AttributeDefinition

    AttributeDefinition.objects.create(workspace=tenant.workspace, key="plan", label="Plan")
    browser_login(page, tenant.owner)
    page.goto("/messages/")
    page.click("text=New email")
    page.click("#choose-blocks")
    page.wait_for_url("**/messages/templates/new/blocks/")
    wait_types(page, ["heading", "text", "footer"])

    # the palette adds above the footer; the keyboard moves a block up
    page.click("[data-add=button]")
    wait_types(page, ["heading", "text", "button", "footer"])
    page.get_by_role("button", name="Move Button block 3 up").click()
    wait_types(page, ["heading", "button", "text", "footer"])
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == (
        "Move Button block 2 up"
    )
    page.keyboard.press("Enter")  # focus stays on the control: move again
    wait_types(page, ["button", "heading", "text", "footer"])
    # undo twice, redo once (outside a text field Ctrl+Z is the editor's)
    page.get_by_role("button", name="Undo").click()
    wait_types(page, ["heading", "button", "text", "footer"])
    page.get_by_role("button", name="Undo").click()
    wait_types(page, ["heading", "text", "button", "footer"])
    page.get_by_role("button", name="Redo").click()
    wait_types(page, ["heading", "button", "text", "footer"])

    # drag the text block above the heading
    text = page.locator("[data-block-type=text] .ee-handle").first
    text.drag_to(page.locator("[data-block-type=heading]").first)
    wait_types(page, ["text", "heading", "button", "footer"])

    # a merge tag with a fallback, at the caret in the heading
    heading = page.get_by_label("Heading text")
    heading.fill("Hi , welcome")
    heading.evaluate("e => e.setSelectionRange(3, 3)")
    page.select_option("#ee-merge-tag", label="Plan")
    page.fill("#ee-merge-fallback", "free")
    page.get_by_role("button", name="Insert into heading text").click()
    page.wait_for_function(
        "() => window.__tendrilEmail.doc.blocks[1].text === "
        """'Hi {{ attributes.plan | default("free") }}, welcome'"""
    )

    # three columns with an image in the second
    page.click("[data-add=columns]")
    cols = page.locator("[data-block-type=columns]")
    page.get_by_label("Columns", exact=True).select_option("3")
    cols.locator(".ee-column").nth(1).get_by_label("Add a block to column 2").select_option("image")
    page.wait_for_function(
        "() => window.__tendrilEmail.doc.blocks.find(b => b.type === 'columns')"
        ".columns[1].blocks[0]?.type === 'image'"
    )
    assert cols.locator(".ee-column").count() == 3
    assert page.get_by_text("An image needs alt text.").first.is_visible()

    # the text block becomes dynamic: shown only to contacts with a company
    page.locator("[data-block-type=text] .ee-block-name").click()
    page.get_by_label("Show only to contacts who…").check()
    page.get_by_label("Add a condition").first.select_option("field")
    page.get_by_label("Field", exact=True).fill("company")
    page.get_by_label("Operator").select_option("eq")
    page.get_by_label("Value", exact=True).fill("Acme")
    page.wait_for_function(
        "() => JSON.stringify(window.__tendrilEmail.doc.blocks[0].condition) === "
        """'{"all":[{"field":"company","op":"eq","value":"Acme"}]}'"""
    )
    assert page.locator("[data-block-type=text] .badge", has_text="Dynamic").is_visible()
    _shot(page, "01-composed")


def png_bytes() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (320, 160), (15, 118, 110)).save(out, format="PNG")
    return out.getvalue()


def preview_as(page, email: str) -> None:  # noqa: ANN001
    page.get_by_label("Preview as contact").fill(email.split("@")[0])
    page.locator(".ee-found button", has_text=email).click()
    page.locator("#ee-preview-for", has_text=email).wait_for()


def html_part(message) -> str:  # noqa: ANN001
    return message.get_body(preferencelist=("html",)).get_content()


def test_the_welcome_email_from_blocks_previews_per_contact_and_sends_to_the_sink(
    page, tenant, smtp_sink, settings
):
    from messaging.channels import email as email_channel
    from messaging.models import EmailTemplate, MessagingSettings
    from tests.messaging.conftest import make_contact

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_sink.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    email_channel.connection_reset()
    ws = tenant.workspace
    MessagingSettings.objects.update_or_create(
        workspace=ws, defaults={"physical_address": "1 Harbour Road, Leith"}
    )
    make_contact(ws, email="ada@example.com", first_name="Ada", company="Acme")
    make_contact(ws, email="bob@example.com", first_name="Bob", company="Globex")

    browser_login(page, tenant.owner)
    page.goto("/messages/templates/create/")
    page.click("#choose-blocks")
    wait_types(page, ["heading", "text", "footer"])
    page.get_by_label("Template name").fill("Welcome")

    # the heading greets by first name, with a fallback
    heading = page.get_by_label("Heading text")
    heading.fill("Hello , welcome aboard")
    heading.evaluate("e => e.setSelectionRange(6, 6)")
    page.select_option("#ee-merge-tag", label="First name")
    page.fill("#ee-merge-fallback", "friend")
    page.get_by_role("button", name="Insert into heading text").click()

    # the text block is only for Acme's people
    area = page.get_by_role("textbox", name="Text", exact=True)
    area.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("Acme members get 20% off")
    page.locator("[data-block-type=text] .ee-block-name").click()
    page.get_by_label("Show only to contacts who…").check()
    page.get_by_label("Add a condition").first.select_option("field")
    page.get_by_label("Field", exact=True).fill("company")
    page.get_by_label("Value", exact=True).fill("Acme")

    # an uploaded image, alt text first
    page.click("[data-add=image]")
    image = page.locator("[data-block-type=image]")
    image.get_by_label("Alt text").fill("Our team at the harbour")
    image.locator("input[type=file]").set_input_files(
        {"name": "team.png", "mimeType": "image/png", "buffer": png_bytes()}
    )
    image.locator("img[alt='Our team at the harbour']").wait_for()

    # two columns: a note and a button
    page.click("[data-add=columns]")
    cols = page.locator("[data-block-type=columns]").locator(".ee-column")
    cols.nth(0).get_by_label("Add a block to column 1").select_option("heading")
    cols.nth(1).get_by_label("Add a block to column 2").select_option("button")
    cols.nth(1).get_by_label("Button link").fill("https://shop.example.com/start")

    # the preview as two contacts: the dynamic block for Ada only
    frame = page.frame_locator("iframe.ee-frame")
    preview_as(page, "ada@example.com")
    frame.get_by_text("Hello Ada, welcome aboard").wait_for()
    frame.get_by_text("Acme members get 20% off").wait_for()
    _shot(page, "02-preview-ada")
    preview_as(page, "bob@example.com")
    frame.get_by_text("Hello Bob, welcome aboard").wait_for()
    assert frame.get_by_text("Acme members get 20% off").count() == 0
    page.get_by_role("button", name="Mobile").click()
    assert page.locator("iframe.ee-frame").evaluate("e => e.offsetWidth") == 375
    page.get_by_role("button", name="Dark").click()
    page.locator("iframe.ee-frame[data-mode=dark]").wait_for()

    # the checklist: each rule and the spam score with its rules
    page.locator("#ee-checklist li").first.wait_for()
    page.locator("#ee-spam", has_text="Spam score").wait_for()
    _shot(page, "03-preview-bob-dark-checklist")

    page.get_by_role("button", name="Save template").click()
    page.locator("#ee-save-status", has_text="version 1").wait_for()
    template = EmailTemplate.objects.get(workspace=ws, name="Welcome")
    assert template.document is not None
    assert [b["type"] for b in template.document["blocks"]] == [
        "heading",
        "text",
        "image",
        "columns",
        "footer",
    ]
    page.wait_for_url(f"**/messages/templates/{template.pk}/")

    # a test as Bob, then as Ada, to the SMTP sink
    page.get_by_label("To", exact=True).fill("me@example.com")
    page.get_by_role("button", name="Send test").click()
    page.locator("#ee-test-status", has_text="as bob@example.com").wait_for()
    [to_bob] = smtp_sink.wait_for(1)
    preview_as(page, "ada@example.com")
    page.get_by_role("button", name="Send test").click()
    page.locator("#ee-test-status", has_text="as ada@example.com").wait_for()
    to_bob, to_ada = smtp_sink.wait_for(2)
    _shot(page, "04-saved-and-sent")
    for message in (to_bob, to_ada):
        html = html_part(message)
        assert 'style="' in html and "<style" in html  # inlined, with the media query kept
        assert "@media" in html and "480px" in html  # columns stack on phones
        assert "1 Harbour Road, Leith" in html and "/m/u/" in html  # the footer
    assert "Acme members get 20% off" in html_part(to_ada)
    assert "Hello Ada" in html_part(to_ada)
    assert "Acme members get 20% off" not in html_part(to_bob)
    assert "Hello Bob" in html_part(to_bob)


def save_in_dialog(page, **labelled: str) -> None:  # noqa: ANN001
    """Fill the block editor's dialog (field label → text), save, wait for it to close."""
    dialog = page.get_by_role("dialog", name="Create an email with the block editor")
    for label, text in labelled.items():
        dialog.get_by_label(label.replace("_", " ").capitalize()).fill(text)
    dialog.get_by_role("button", name="Save template").click()
    dialog.wait_for(state="detached")


def test_a_broadcast_creates_its_email_with_the_block_editor_in_place(page, tenant):
    from messaging.models import EmailTemplate

    browser_login(page, tenant.owner)
    page.goto("/messages/broadcasts/new/")
    page.get_by_role("button", name="+ Create with the block editor").click()
    save_in_dialog(page, template_name="March news", heading_text="What's new in March")
    template = EmailTemplate.objects.get(workspace=tenant.workspace, name="March news")
    assert template.document["blocks"][0]["text"] == "What's new in March"
    select = page.locator("#id_email_template")
    assert select.input_value() == str(template.pk)
    assert select.locator("option:checked").inner_text() == "March news"
    assert page.evaluate("document.activeElement.id") == "create-with-blocks"


def test_the_workflow_send_email_step_designs_its_template_with_the_block_editor(page, tenant):
    from tests.support.workflow_builder import node, open_builder, pick
    from tests.workflows.conftest import chain, make_workflow

    workflow = make_workflow(tenant.workspace, chain(("start", "trigger.api", {})), publish=False)
    open_builder(page, tenant, workflow.pk, "start")
    page.click('[data-add="start:default"]')
    pick(page, "send email", "action.email")
    page.get_by_role("button", name="+ Design with the block editor").click()
    save_in_dialog(page, template_name="Welcome series 1", subject="Welcome aboard")
    page.wait_for_selector('[data-testid="template-subject"]:text-is("Welcome aboard")')
    assert "Welcome series 1" in node(page, "email_1").inner_text()
    _shot(page, "05-workflow-step-template")
