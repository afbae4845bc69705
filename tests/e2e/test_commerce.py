"""Commerce in a real browser: the catalogue page (search by htmx, a product's page) and the
recommended-products block in the email editor, previewed as a contact who sees their own
products. Screenshots go to artifacts/commerce/ (git-ignored)."""

from pathlib import Path

import pytest

from tests.conftest import browser_login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "commerce"


def _shot(page, name):  # noqa: ANN001
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _shop(ws):  # noqa: ANN001
    from tests.commerce.conftest import day, ordered, shopper, viewed

    ada, bob, cy = (shopper(ws, n) for n in ("ada", "bob", "cy"))
    viewed(ws, ada, "MUG", day(0), name="Blue mug", category="Kitchen", price="12.50")
    ordered(ws, ada, ["MUG", "TEA"], day(1), category="Kitchen")
    ordered(ws, bob, ["MUG", "TEA", "POT"], day(2), category="Kitchen")
    ordered(ws, cy, ["MUG"], day(3), category="Kitchen")
    return cy


def test_the_catalogue_lists_searches_and_opens_a_product(page, tenant):
    _shop(tenant.workspace)
    browser_login(page, tenant.owner)
    page.goto("/products/")
    rows = page.locator("#products-table tbody tr")
    assert rows.count() == 3
    assert rows.first.locator("td").nth(6).inner_text() == "3"  # MUG: most purchased first
    _shot(page, "01-catalogue")
    page.fill("#id_q", "POT")
    page.wait_for_function(
        "() => document.querySelectorAll('#products-table tbody tr').length === 1"
    )
    assert "Product POT" in page.locator("#products-table").inner_text()
    page.click("text=Product POT")
    page.wait_for_url("**/products/*/")
    assert "Product MUG" in page.locator("#bought-together").inner_text()
    _shot(page, "02-product")


def test_the_recommended_products_block_previews_a_contacts_own_products(page, tenant):
    cy = _shop(tenant.workspace)
    browser_login(page, tenant.owner)
    page.goto("/messages/templates/create/")
    page.click("#choose-blocks")
    page.wait_for_function("() => window.__tendrilEmail?.doc.blocks.length === 3")
    page.click("[data-add=products]")  # the palette button "Products"
    page.wait_for_function(
        "() => window.__tendrilEmail.doc.blocks.some(b => b.type === 'products')"
    )
    block = page.locator("[data-block-type=products]")
    block.get_by_label("Title (optional)").fill("Picked for you")
    block.locator(".ee-block-name").click()
    page.get_by_label("Products shown").fill("2")
    page.wait_for_function(
        "() => window.__tendrilEmail.doc.blocks.find(b => b.type === 'products').count === 2"
    )
    assert block.locator(".ee-product-slot").count() == 2
    page.get_by_label("Preview as contact").fill("cy")
    page.locator(".ee-found button", has_text=cy.email).click()
    page.locator("#ee-preview-for", has_text=cy.email).wait_for()
    frame = page.frame_locator("iframe.ee-frame")
    frame.get_by_text("Picked for you").wait_for()
    frame.get_by_text("Product TEA").wait_for()  # bought with MUG by ada and bob
    frame.get_by_text("Product POT").wait_for()
    assert frame.get_by_text("Product MUG").count() == 0  # cy bought it
    _shot(page, "03-email-products-block")
