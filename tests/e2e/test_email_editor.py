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
