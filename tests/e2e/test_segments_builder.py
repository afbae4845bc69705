"""A marketer builds a segment in a real browser and watches the live count move."""

import pytest

from contacts.models import Contact
from segments.models import Segment, SegmentMembership
from tests.conftest import browser_login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _settled(page):
    """Wait until htmx has swapped and processed the new builder (handlers attached)."""
    page.wait_for_function(
        "!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"
    )


def test_building_a_segment_shows_a_live_count_and_saves_its_members(page, tenant):
    ws = tenant.workspace
    for i, (country, tags) in enumerate([("DE", ["vip"]), ("DE", []), ("DE", []), ("FR", ["vip"])]):
        Contact.objects.create(workspace=ws, email=f"p{i}@x.test", country=country, tags=tags)
    browser_login(page, tenant.owner)
    page.goto("/segments/new/")
    page.fill("#id_name", "German VIPs")

    with page.expect_response("**/segments/builder/"):
        page.click("#node-n [data-add=field]")
    _settled(page)
    with page.expect_response("**/segments/builder/"):
        page.select_option("select[name='n.0.field']", "country")
    _settled(page)
    with page.expect_response("**/segments/builder/"):
        page.select_option("select[name='n.0.op']", "eq")
    _settled(page)
    page.fill("input[name='n.0.value']", "de")
    page.wait_for_function("document.querySelector('#live-count')?.textContent.trim() === '3'")
    assert "p1@x.test" in page.inner_text("#preview") or "p1" in page.inner_text("#preview")

    with page.expect_response("**/segments/builder/"):
        page.click("#node-n [data-add=tag]")
    _settled(page)
    # An empty tag is named at its node until it is filled in.
    page.wait_for_function("document.querySelector('#err-n-1')?.textContent.includes('all[1].tag')")
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
