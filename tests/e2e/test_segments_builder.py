"""A marketer builds a segment in a real browser with the condition editor (the same React
component as the workflow canvas, as an island on the page) and watches the live count move."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.models import Contact, Event
from segments.models import Segment, SegmentMembership
from tests.conftest import browser_login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PRICING = [{"property": "url", "op": "contains", "value": "/pricing"}]


def count_is(page, expected: str) -> None:
    """The live count shows `expected` as the answer for the conditions now on screen."""
    page.wait_for_function(
        "([want]) => document.querySelector('#live-count')?.textContent.trim() === want"
        " && !document.querySelector('#preview.is-stale')",
        arg=[expected],
    )


def editor_ready(page) -> None:
    page.wait_for_selector("[data-condition-editor][data-ready=true]")


def add(page, group_path: str, kind: str) -> None:
    page.select_option(f'.cb-group[data-path="{group_path}"] > .cb-add select', kind)


def visits(contact, days_ago: list[int]) -> None:
    now = timezone.now()
    for i, ago in enumerate(days_ago):
        Event.objects.create(
            workspace=contact.workspace,
            contact=contact,
            type="page",
            name="page",
            properties={"url": f"https://acme.test/pricing?v={i}"},
            timestamp=now - timedelta(days=ago, hours=1),
            message_id=f"{contact.email}-{i}",
        )


def test_a_group_with_an_event_count_condition_counts_live_saves_and_edits(page, tenant):
    ws = tenant.workspace
    keen = Contact.objects.create(workspace=ws, email="keen@x.test", country="DE")
    twice = Contact.objects.create(workspace=ws, email="twice@x.test", country="DE")
    stale = Contact.objects.create(workspace=ws, email="stale@x.test", country="DE")
    french = Contact.objects.create(workspace=ws, email="fr@x.test", country="FR")
    visits(keen, [1, 2, 3])
    visits(twice, [1, 2])
    visits(stale, [10, 11, 12])
    visits(french, [1, 2, 3, 4])
    browser_login(page, tenant.owner)
    page.goto("/segments/new/")
    editor_ready(page)
    page.fill("#id_name", "Pricing-curious Germans")
    count_is(page, "4")  # no conditions yet: everyone

    add(page, "", "field")
    row = page.locator('[data-path="all[0]"]')
    row.get_by_label("Field").fill("country")
    row.get_by_label("Value").fill("DE")
    count_is(page, "3")

    add(page, "", "group")  # a condition group: any of …
    add(page, "all[1]", "event")
    event = page.locator('[data-path="all[1].any[0]"]')
    event.get_by_label("Event name").fill("page")
    event.get_by_label("Within days").fill("7")
    event.get_by_label("a number of times").check()
    event.get_by_label("Count operator").select_option("gte")
    event.get_by_label("Times", exact=True).fill("3")
    event.get_by_role("button", name="+ Property condition").click()
    # A property not named yet is left out of the count (and said so), not counted wrongly.
    page.wait_for_selector("#unfinished-note")
    event.get_by_label("Property", exact=True).fill("url")
    event.get_by_label("Property operator").select_option("contains")
    event.get_by_label("Property value").fill("/pricing")
    count_is(page, "1")
    assert "keen@x.test" in page.inner_text("#preview")
    assert not page.is_visible("#unfinished-note")

    page.click("#save-segment")
    page.wait_for_selector("#status-badge")
    segment = Segment.objects.get(workspace=ws, name="Pricing-curious Germans")
    expected_event = {
        "event": "page",
        "within_days": 7,
        "count": {"op": "gte", "value": 3},
        "where": PRICING,
    }
    assert segment.filter == {
        "all": [{"field": "country", "op": "eq", "value": "DE"}, {"any": [expected_event]}]
    }
    assert page.inner_text("#member-count").strip() == "1"
    assert set(
        SegmentMembership.objects.filter(segment=segment).values_list("contact__email", flat=True)
    ) == {"keen@x.test"}

    # Reload the editor: the saved tree comes back into the same controls; edit it.
    page.goto(f"/segments/{segment.pk}/edit/")
    editor_ready(page)
    event = page.locator('[data-path="all[1].any[0]"]')
    assert event.get_by_label("Event name").input_value() == "page"
    assert event.get_by_label("Within days").input_value() == "7"
    assert event.get_by_label("Times", exact=True).input_value() == "3"
    count_is(page, "1")
    event.get_by_label("Times", exact=True).fill("2")
    count_is(page, "2")
    page.click("#save-segment")
    page.wait_for_selector("#status-badge")
    segment.refresh_from_db()
    assert segment.filter["all"][1]["any"][0]["count"] == {"op": "gte", "value": 2}


def test_a_mistake_the_server_finds_is_shown_next_to_its_condition(page, tenant):
    ws = tenant.workspace
    inner = Segment.objects.create(workspace=ws, name="Inner", filter={"all": []})
    outer = Segment.objects.create(
        workspace=ws,
        name="Outer",
        filter={"all": [{"segment": inner.pk}]},
        dep_segment_ids=[inner.pk],
    )
    browser_login(page, tenant.owner)
    page.goto(f"/segments/{inner.pk}/edit/")
    editor_ready(page)
    add(page, "", "segment")
    page.locator('[data-path="all[0]"]').get_by_label("Segment", exact=True).select_option(
        str(outer.pk)
    )
    page.click("#save-segment")  # Inner → Outer → Inner: only the server sees the cycle
    page.wait_for_selector('.cb-errors[data-path="all[0]"]')
    message = page.inner_text('.cb-errors[data-path="all[0]"]')
    assert "cycle" in message
    inner.refresh_from_db()
    assert inner.filter == {"all": []}  # nothing saved


def test_the_count_says_counting_until_the_answer_for_the_current_conditions_arrives(page, tenant):
    ws = tenant.workspace
    for i, country in enumerate(["DE", "DE", "FR"]):
        Contact.objects.create(workspace=ws, email=f"c{i}@x.test", country=country)
    segment = Segment.objects.create(
        workspace=ws,
        name="Germans",
        filter={"all": [{"field": "country", "op": "eq", "value": "DE"}]},
    )
    browser_login(page, tenant.owner)
    page.goto(f"/segments/{segment.pk}/edit/")
    editor_ready(page)
    count_is(page, "2")
    assert not page.is_visible("#counting")

    held: list = []
    holding = True

    def hold(route):  # keep the answer back while the test looks at the page
        if holding:
            held.append(route)
        else:
            route.continue_()

    page.route("**/api/v1/segments/count/", hold)
    page.locator('[data-path="all[0]"]').get_by_label("Value").fill("FR")
    page.wait_for_selector("#preview.is-stale")
    assert page.is_visible("#counting")  # the old "2" is no answer for "FR"
    deadline = time.monotonic() + 30
    while not held:  # Playwright runs the route handler while the page is polled
        assert time.monotonic() < deadline, "the count request never left"
        page.evaluate("1")
    holding = False
    held[-1].continue_()
    count_is(page, "1")
    assert not page.is_visible("#counting")


def test_the_editor_does_not_scroll_sideways_on_a_phone(page, tenant):
    browser_login(page, tenant.owner)
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto("/segments/new/")
    editor_ready(page)
    for what in ("event", "field", "group"):
        add(page, "", what)
    event = page.locator('[data-path="all[0]"]')
    event.get_by_role("button", name="+ Property condition").click()
    event.get_by_label("When").select_option("between")
    event.get_by_label("a number of times").check()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls {overflow}px sideways at 375px"
