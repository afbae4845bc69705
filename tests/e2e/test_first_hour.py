"""The first hour on the demo workspace, walked in Chromium as a new marketer and as a new
sales rep (issue #16's walk), with a screenshot of every step kept for the reviewer in
artifacts/first-hour/ (git-ignored, next to the builder's artifacts/builder/).

Marketer: home → contacts → a contact → a new segment with a live count → the workflow
gallery → the builder → a broadcast to that segment → analytics.
Sales rep: leads → a lead's profile → a task, which then shows under My tasks."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import add_member, browser_login
from tests.support.browser import htmx_settled
from workspaces.roles import Role

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "first-hour"


class Walk:
    """Numbered full-page screenshots of one person's walk."""

    def __init__(self, page, who: str) -> None:  # noqa: ANN001
        self.page, self.folder, self.step = page, ARTIFACTS / who, 0
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()

    def shot(self, name: str) -> None:
        self.page.wait_for_load_state("networkidle")
        htmx_settled(self.page)
        self.step += 1
        self.page.screenshot(path=str(self.folder / f"{self.step:02d}-{name}.png"), full_page=True)

    def nav(self, label: str) -> None:
        self.page.click(f"nav[aria-label=Main] .nav-item:has-text('{label}')")
        current = self.page.locator("nav[aria-label=Main] [aria-current=page]")
        expect(current).to_have_text(label)  # the page it opened is announced as current


def live_count(page) -> int:  # noqa: ANN001
    """The condition editor's live count once it answers for the conditions on screen."""
    page.wait_for_function(
        "/^[0-9][0-9,]*$/.test(document.querySelector('#live-count')?.textContent.trim())"
        " && !document.querySelector('#preview.is-stale')"
    )
    return int(page.inner_text("#live-count").replace(",", ""))


def test_a_new_marketer_walks_the_first_hour(page, demo):  # noqa: ANN001
    marketer = add_member(demo.workspace, "marketer@demo-shop.test", Role.MARKETER)
    walk = Walk(page, "marketer")
    browser_login(page, marketer)
    page.wait_for_selector("text=Get started")
    walk.shot("home")

    walk.nav("Contacts")
    page.wait_for_selector("table")
    walk.shot("contacts")
    page.locator("table a[href^='/contacts/']").first.click()
    page.wait_for_selector("#contact-name")
    walk.shot("contact-profile")

    walk.nav("Segments")
    walk.shot("segments")
    page.goto("/segments/new/")
    page.fill("#id_name", "Bought this month")
    page.wait_for_selector("[data-condition-editor][data-ready=true]")
    page.select_option('.cb-group[data-path=""] > .cb-add select', "event")
    event = page.locator('[data-path="all[0]"]').get_by_label("Event name")
    event.fill("Order Completed")
    event.press("Tab")
    buyers = live_count(page)
    assert buyers > 0, "nobody in the demo bought anything"
    walk.shot("segment-builder-live-count")
    page.click("#save-segment")
    page.wait_for_selector("#status-badge")
    walk.shot("segment-saved")

    walk.nav("Workflows")
    page.wait_for_selector("text=Start from a ready-made workflow")
    walk.shot("workflow-gallery")
    item = page.locator(".wf-gallery-item", has_text="Welcome series")
    item.locator("button", has_text="Use").click()
    page.wait_for_selector(".wb-node")
    walk.shot("workflow-builder")

    walk.nav("Messages")
    page.goto("/messages/broadcasts/new/")
    page.fill("input[name=name]", "Thanks for your order")
    page.select_option("select[name=segment]", label="Bought this month")
    walk.shot("broadcast-new")

    walk.nav("Analytics")
    page.wait_for_selector("canvas")
    walk.shot("analytics")
    assert sorted(p.name for p in walk.folder.glob("*.png")) == [
        "01-home.png",
        "02-contacts.png",
        "03-contact-profile.png",
        "04-segments.png",
        "05-segment-builder-live-count.png",
        "06-segment-saved.png",
        "07-workflow-gallery.png",
        "08-workflow-builder.png",
        "09-broadcast-new.png",
        "10-analytics.png",
    ]


def test_a_new_sales_rep_walks_the_first_hour(page, demo):  # noqa: ANN001
    rep = add_member(demo.workspace, "rep@demo-shop.test", Role.SALES)
    walk = Walk(page, "sales")
    browser_login(page, rep)
    walk.shot("home")

    walk.nav("Leads")
    page.wait_for_selector("table")
    walk.shot("leads")
    page.locator("table a[href^='/leads/']").first.click()
    page.wait_for_selector("#lead-name")
    walk.shot("lead-profile")

    tasks = page.locator("#lead-tasks")
    tasks.locator("input[name=title]").fill("Call about the annual plan")
    tasks.locator("button", has_text="Add task").click()
    tasks.locator("li", has_text="Call about the annual plan").wait_for()
    walk.shot("lead-task-added")

    walk.nav("Leads")
    page.locator("li", has_text="Call about the annual plan").wait_for()  # My tasks
    walk.shot("my-tasks")
    assert len(list(walk.folder.glob("*.png"))) == 5
