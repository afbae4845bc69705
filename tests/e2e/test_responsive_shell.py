"""The app shell at phone, tablet and desktop widths in a real browser: below 900px the sidebar
is a drawer behind a menu button and the page never scrolls sideways; on a desktop the sidebar
stays in place and there is no menu button."""

import pytest
from playwright.sync_api import expect

from contacts.models import Contact
from tests.conftest import browser_login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PAGE_WIDER_THAN_VIEWPORT = (
    "document.documentElement.scrollWidth > document.documentElement.clientWidth"
)


@pytest.fixture
def contacts(ws):
    # Long values, so the contacts table is wider than a phone and has to scroll.
    Contact.objects.bulk_create(
        [
            Contact(
                workspace=ws,
                email=f"person{i}@a-rather-long-company-domain.test",
                first_name=f"Person{i}",
                last_name="Featherstonehaugh",
                company="Analytical Engines and Difference Machines Ltd",
                tags=["vip", "webinar-2024"],
            )
            for i in range(8)
        ]
    )


def overlaps(a: dict, b: dict) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


@pytest.mark.parametrize("width,height", [(375, 800), (700, 900)])
def test_on_narrow_screens_the_sidebar_hides_behind_a_menu_button(
    page, owner, contacts, width, height
):
    page.set_viewport_size({"width": width, "height": height})
    browser_login(page, owner)
    page.goto("/contacts/")
    sidebar, main, toggle = (
        page.locator("#sidebar"),
        page.locator("main.main"),
        page.locator("#menu-toggle"),
    )

    # Closed: out of sight and out of the tab order, and the main column has the whole width.
    expect(sidebar).to_be_hidden()
    assert not overlaps(sidebar.bounding_box(), main.bounding_box())
    assert main.bounding_box()["width"] == width
    expect(toggle).to_be_visible()
    expect(toggle).to_have_attribute("aria-controls", "sidebar")
    expect(toggle).to_have_attribute("aria-expanded", "false")

    # The table scrolls inside its container; the page itself does not scroll sideways.
    assert not page.evaluate(PAGE_WIDER_THAN_VIEWPORT)
    if width == 375:
        assert page.eval_on_selector(".table-wrap", "el => el.scrollWidth > el.clientWidth")

    # The button opens the drawer and focus moves into it; Escape closes it and focus returns.
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(sidebar).to_be_visible()
    assert page.evaluate("document.getElementById('sidebar').contains(document.activeElement)")
    page.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(sidebar).to_be_hidden()
    expect(toggle).to_be_focused()

    # Clicking beside the open drawer closes it too.
    toggle.click()
    expect(sidebar).to_be_visible()
    page.mouse.click(width - 10, height // 2)
    expect(sidebar).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")

    # Navigating through it: the next page starts with the drawer closed.
    toggle.click()
    sidebar.get_by_role("link", name="Messages").click()
    page.wait_for_url("**/messages/")
    expect(page.locator(".topbar-title")).to_have_text("Messages")
    expect(sidebar).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    assert not page.evaluate(PAGE_WIDER_THAN_VIEWPORT)  # header buttons and tabs wrap or scroll

    # A table set straight in a card (the settings audit log) scrolls inside the card.
    page.goto("/settings/")
    assert not page.evaluate(PAGE_WIDER_THAN_VIEWPORT)


def test_on_a_desktop_the_sidebar_stays_beside_the_content_without_a_menu_button(
    page, owner, contacts
):
    browser_login(page, owner)
    for url in ("/", "/contacts/"):
        page.goto(url)
        sidebar, main = page.locator("#sidebar"), page.locator("main.main")
        expect(sidebar).to_be_visible()
        expect(page.locator("#menu-toggle")).to_be_hidden()
        side, content = sidebar.bounding_box(), main.bounding_box()
        assert side["x"] == 0 and side["width"] == 232
        assert content["x"] == 232 and not overlaps(side, content)
        assert not page.evaluate(PAGE_WIDER_THAN_VIEWPORT)


def test_widening_past_the_breakpoint_forgets_an_open_drawer(page, owner):
    page.set_viewport_size({"width": 700, "height": 900})
    browser_login(page, owner)
    page.locator("#menu-toggle").click()
    expect(page.locator("#menu-toggle")).to_have_attribute("aria-expanded", "true")
    page.set_viewport_size({"width": 1280, "height": 900})
    expect(page.locator("#menu-toggle")).to_have_attribute("aria-expanded", "false")
    expect(page.locator(".sidebar-backdrop")).to_be_hidden()
    assert page.locator("main.main").bounding_box()["x"] == 232
