"""A marketer builds a segment in a real browser and watches the live count move."""

import time

import pytest

from contacts.models import Contact
from segments.models import Segment, SegmentMembership
from tests.conftest import browser_login
from tests.support.browser import htmx_settled

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_building_a_segment_shows_a_live_count_and_saves_its_members(page, tenant):
    ws = tenant.workspace
    for i, (country, tags) in enumerate([("DE", ["vip"]), ("DE", []), ("DE", []), ("FR", ["vip"])]):
        Contact.objects.create(workspace=ws, email=f"p{i}@x.test", country=country, tags=tags)
    browser_login(page, tenant.owner)
    page.goto("/segments/new/")
    page.fill("#id_name", "German VIPs")

    with page.expect_response("**/segments/builder/"):
        page.click("#node-n [data-add=field]")
    htmx_settled(page)
    with page.expect_response("**/segments/builder/"):
        page.select_option("select[name='n.0.field']", "country")
    htmx_settled(page)
    with page.expect_response("**/segments/builder/"):
        page.select_option("select[name='n.0.op']", "eq")
    htmx_settled(page)
    page.fill("input[name='n.0.value']", "de")
    page.wait_for_function("document.querySelector('#live-count')?.textContent.trim() === '3'")
    assert "p1@x.test" in page.inner_text("#preview") or "p1" in page.inner_text("#preview")

    with page.expect_response("**/segments/builder/"):
        page.click("#node-n [data-add=tag]")
    htmx_settled(page)
    # A tag not typed yet is no mistake: the count leaves it out and says so.
    page.wait_for_selector("#unfinished-note")
    assert page.inner_text("#live-count").strip() == "3"
    assert page.inner_text("#err-n-1").strip() == ""
    page.fill("input[name='n.1.tag']", "vip")
    page.wait_for_function("document.querySelector('#live-count')?.textContent.trim() === '1'")
    assert page.inner_text("#err-n-1").strip() == ""

    page.click("#save-segment")
    page.wait_for_selector("#status-badge")
    segment = Segment.objects.get(workspace=ws, name="German VIPs")
    assert page.inner_text("#member-count").strip() == "1"
    assert set(
        SegmentMembership.objects.filter(segment=segment).values_list("contact__email", flat=True)
    ) == {"p0@x.test"}


def test_the_count_says_counting_until_the_answer_for_the_current_form_arrives(page, tenant):
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
    page.wait_for_function("document.querySelector('#live-count')?.textContent.trim() === '2'")
    assert not page.is_visible("#counting")

    held: list = []
    holding = True

    def hold(route):  # keep the answer back while the test looks at the page
        if holding:
            held.append(route)
        else:
            route.continue_()

    page.route("**/segments/builder/preview/", hold)
    page.fill("input[name='n.0.value']", "FR")
    page.wait_for_function("document.querySelector('#preview').classList.contains('is-stale')")
    assert page.is_visible("#counting")  # the old "2" is no answer for "FR"
    deadline = time.monotonic() + 30
    while not held:  # Playwright runs the route handler while the page is polled
        assert time.monotonic() < deadline, "the preview request never left"
        page.evaluate("1")
    holding = False
    held[-1].continue_()
    page.wait_for_function("document.querySelector('#live-count')?.textContent.trim() === '1'")
    page.wait_for_function("!document.querySelector('#preview').classList.contains('is-stale')")
    assert not page.is_visible("#counting")


def test_tabbing_onto_add_where_does_not_break_the_count(page, tenant):
    ws = tenant.workspace
    Contact.objects.create(workspace=ws, email="a@x.test", country="DE")
    browser_login(page, tenant.owner)
    page.goto("/segments/new/")
    with page.expect_response("**/segments/builder/"):
        page.click("#node-n [data-add=event]")
    htmx_settled(page)
    page.fill("input[name='n.0.event']", "Signed Up")
    page.keyboard.press("Tab")  # onto the count operator …
    page.focus("button[value='addwhere:n.0']")  # … and on, to "+ where", without pressing it
    page.fill("#id_name", "Signed up")  # another edit sends the form (and htmx's last button)
    page.wait_for_function("document.querySelector('#live-count')?.textContent.trim() === '0'")
    page.wait_for_function("!document.querySelector('#preview').classList.contains('is-stale')")
    assert page.inner_text("#err-n-0").strip() == ""
    assert not page.query_selector("#node-n-0-w-0")


def test_the_builder_does_not_scroll_sideways_on_a_phone(page, tenant):
    browser_login(page, tenant.owner)
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto("/segments/new/")
    for what in ("event", "field", "group"):
        with page.expect_response("**/segments/builder/"):
            page.click(f"#node-n > .bq-children > .bq-add [data-add={what}]")
        htmx_settled(page)
    with page.expect_response("**/segments/builder/"):
        page.click("button[value='addwhere:n.0']")
    htmx_settled(page)
    with page.expect_response("**/segments/builder/"):
        page.select_option("select[name='n.0.window']", "between")
    htmx_settled(page)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls {overflow}px sideways at 375px"
