"""A broadcast in a real browser (issue #16): checkboxes beside their labels, the audience
counted live as the segment and exclusions change, and Send naming how many people.
Screenshots go to artifacts/broadcasts/ (git-ignored) for the reviewer."""

from pathlib import Path

import pytest

from messaging.models import Broadcast
from messaging.services import layout_save
from tests.conftest import browser_login
from tests.messaging.conftest import LAYOUT, make_contact, make_template
from tests.messaging.test_broadcasts import static_segment

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "broadcasts"


def _shot(page, name):  # noqa: ANN001
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_the_audience_follows_the_form_and_send_names_the_number(page, tenant):
    ws = tenant.workspace
    people = [make_contact(ws, email=f"p{i}@example.com") for i in range(5)]
    gone = make_contact(ws, email="gone@example.com", email_consent="unsubscribed")
    static_segment(ws, [*people, gone], name="Everyone")
    static_segment(ws, people[:2], name="Customers")
    make_template(ws, layout_save(workspace=ws, name="Default", html=LAYOUT), name="Spring")
    browser_login(page, tenant.owner)
    page.goto("/messages/broadcasts/new/")

    # Each checkbox sits right before its own words, not across the card.
    box = page.locator("#id_local_time").bounding_box()
    words = page.locator("label[for=id_local_time] span").bounding_box()
    assert 0 <= words["x"] - (box["x"] + box["width"]) <= 16
    assert abs((words["y"] + words["height"] / 2) - (box["y"] + box["height"] / 2)) <= 8

    page.locator("#audience", has_text="Choose a segment").wait_for()
    page.fill("#id_name", "Spring sale")
    page.select_option("#id_segment", label="Everyone")
    page.locator("#audience-recipients", has_text="5").wait_for()
    assert "1 cannot be reached" in page.locator("#audience").inner_text()
    page.locator("#id_exclude_segments label", has_text="Customers").click()
    page.locator("#audience-recipients", has_text="3").wait_for()
    assert "2 left out" in page.locator("#audience").inner_text()
    _shot(page, "1-form-with-live-audience")

    page.select_option("#id_email_template", label="Spring")
    page.click("button:has-text('Save draft')")
    page.locator("#audience", has_text="3 people would receive it").wait_for()
    _shot(page, "2-draft-with-audience")

    asked = []

    def answer(dialog):  # noqa: ANN001
        asked.append(dialog.message)
        dialog.accept()

    page.on("dialog", answer)
    page.click("button:has-text('Send now')")
    page.locator(".flash-success", has_text="Sending started").wait_for()
    assert asked == ["Send to 3 people?"]
    broadcast = Broadcast.objects.get(workspace=ws, name="Spring sale")
    assert broadcast.status != Broadcast.Status.DRAFT
    assert page.locator("button", has_text="Cancel").count() == 0  # all went out
    _shot(page, "3-sent-without-cancel")
