"""The contacts pages in a real browser: htmx search, the profile's tags and timeline, and a
CSV import whose progress bar follows a real Celery worker."""

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.models import Contact, ContactImport, Event
from contacts.services import event_record
from tests.conftest import browser_login
from tests.support.worker import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def people(ws, owner):
    ada = Contact.objects.create(
        workspace=ws,
        email="ada@acme.test",
        first_name="Ada",
        last_name="Lovelace",
        company="Analytical Engines",
        owner=owner,
        tags=["vip"],
        attributes={"plan": "pro"},
    )
    Contact.objects.bulk_create(
        [
            Contact(workspace=ws, email=f"person{i}@acme.test", first_name=f"Person{i}")
            for i in range(60)
        ]
    )
    start = timezone.now() - timedelta(days=3)
    for i in range(35):
        event_record(
            workspace=ws,
            contact=ada,
            name="Pricing" if i % 2 else "Signed Up",
            type="page" if i % 2 else "track",
            properties={"url": f"https://acme.test/pricing?v={i}"} if i % 2 else {"plan": "pro"},
            timestamp=start + timedelta(minutes=i),
        )
    return ada


def test_search_filters_the_list_in_place_and_the_profile_works(page, owner, people):
    from segments.models import Segment
    from segments.services import segment_create, static_list_add

    vips = segment_create(workspace=people.workspace, name="VIP guests", kind=Segment.Kind.STATIC)
    static_list_add(segment=vips, contact_ids=[people.pk], source="manual")
    segment_create(workspace=people.workspace, name="Webinar list", kind=Segment.Kind.STATIC)
    browser_login(page, owner)
    page.goto("/contacts/")
    assert "1–50 of 61 contacts" in page.inner_text("#contact-count")
    page.fill("input[name=q]", "lovelace")
    page.wait_for_function(
        "document.querySelector('#contact-count').innerText.includes('1 contact')"
    )
    page.wait_for_url("**/contacts/?*q=lovelace*")  # the URL follows, so the view can be shared
    assert "q=lovelace" in page.get_attribute("#export-link", "href")
    page.click("text=Ada Lovelace")
    page.wait_for_selector("#contact-name")
    assert "Analytical Engines" in page.inner_text("#contact-details")
    assert "pro" in page.inner_text("#contact-attributes")

    at_load = Event.objects.filter(contact=people).count()
    # The segments panel loads into the page and adds to a static list in place.
    page.wait_for_selector("#contact-lists >> text=VIP guests")
    page.select_option("#contact-lists select[name=list]", label="Webinar list")
    page.click("#contact-lists button:has-text('Add to list')")
    page.wait_for_selector("#contact-lists >> text=Webinar list >> xpath=ancestor::li")
    assert page.locator("a:has-text('Privacy: export or erase')").count() == 1

    # Tags: add and remove without leaving the page.
    page.fill("input[aria-label='New tag']", "webinar")
    page.click("#contact-tags button:has-text('Add')")
    page.wait_for_selector("#tag-list >> text=webinar")
    page.click("button[aria-label='Remove tag vip']")
    page.wait_for_function("!document.querySelector('#tag-list').innerText.includes('vip')")
    people.refresh_from_db()
    assert people.tags == ["webinar"]

    # Timeline: 30 entries, then "Load more" appends the rest.
    assert page.locator(".ct-entry-title").count() == 30
    assert page.locator("text=https://acme.test/pricing?v=33").count() == 1
    page.click("text=Load more")
    # the 35 + segment.entered for the list it was in when the page loaded (the one added
    # on the page is newer than the first page, so "load more" does not repeat it)
    page.wait_for_function(f"document.querySelectorAll('.ct-entry-title').length === {at_load}")
    assert at_load == 36 and Event.objects.filter(contact=people).count() == 37
    assert page.locator("text=Load more").count() == 0


def test_a_csv_import_shows_live_progress_until_done(page, owner, ws, celery_worker, tmp_path):
    csv_path = tmp_path / "people.csv"
    csv_path.write_text(
        "Email,First name,Plan\n"
        + "".join(f"p{i}@import.test,P{i},pro\n" for i in range(300))
        + "broken-email,X,pro\n"
    )
    browser_login(page, owner)
    page.goto("/contacts/import/")
    page.set_input_files("input[type=file]", str(csv_path))
    page.click("text=Upload and map columns")
    page.wait_for_selector("#mapping-form")
    assert page.input_value("select[name=map_0]") == "email"
    assert page.input_value("select[name=map_2]") == "attr:plan"
    page.click("text=Import 301 rows")
    page.wait_for_selector("#import-progress")
    page.wait_for_selector("text=Import complete", timeout=30_000)
    assert page.inner_text("#created-count") == "300"
    assert page.inner_text("#error-count") == "1"
    assert page.locator("#error-report").count() == 1
    imp = wait_for(lambda: ContactImport.objects.filter(workspace=ws, status="completed").first())
    assert imp.created_count == 300
    assert Contact.objects.filter(workspace=ws, attributes__plan="pro").count() == 300
