"""Segment's and RudderStack's own Python libraries, unmodified, fill Tendril.

Tendril runs on a live port; each library's host points at it. Identify, track and page
go through the synchronous mode, then 1,000 queued events through the background consumer
(batches of 100, RudderStack gzip'd), and we look at what was stored.
"""

import pytest
from rudderstack.analytics.client import Client as RudderClient
from segment.analytics.client import Client as SegmentClient

from contacts.models import Contact, Event

pytestmark = pytest.mark.django_db(transaction=True)

QUEUED = 1000


def _exercise(client, ws, prefix: str) -> None:
    client.identify(
        f"{prefix}-user-1",
        {"email": f"{prefix}@example.com", "firstName": "Ada", "plan": "pro"},
        anonymous_id=f"{prefix}-anon-1",
    )
    client.track(f"{prefix}-user-1", "Signed Up", {"plan": "pro"})
    client.page(f"{prefix}-user-1", name="Pricing", properties={"url": "https://x.test/pricing"})
    client.flush()


def _assert_stored(ws, prefix: str) -> None:
    contact = Contact.objects.get(workspace=ws, external_id=f"{prefix}-user-1")
    assert contact.email == f"{prefix}@example.com"
    assert contact.first_name == "Ada"
    assert contact.attributes["plan"] == "pro"
    assert f"{prefix}-anon-1" in contact.anonymous_ids
    kinds = sorted(contact.events.values_list("type", "name"))
    assert kinds == [("identify", ""), ("page", "Pricing"), ("track", "Signed Up")]
    page = contact.events.get(type="page")
    assert page.properties["path"] == "/pricing"


def _queue_many(client, prefix: str) -> None:
    for i in range(QUEUED):
        client.track(f"{prefix}-bulk-{i % 50}", "Item Viewed", {"sku": i})
    client.flush()


def _assert_many(ws, prefix: str) -> None:
    events = Event.objects.filter(
        workspace=ws, name="Item Viewed", contact__external_id__startswith=f"{prefix}-bulk-"
    )
    assert events.count() == QUEUED
    assert sorted(events.values_list("properties__sku", flat=True)) == list(range(QUEUED))
    assert (
        Contact.objects.filter(workspace=ws, external_id__startswith=f"{prefix}-bulk-").count()
        == 50
    )


def test_the_segment_library_fills_tendril(live_server, tenant):
    errors = []
    client = SegmentClient(
        tenant.write_key,
        host=live_server.url,
        sync_mode=True,
        on_error=lambda e, b: errors.append(e),
    )
    _exercise(client, tenant.workspace, "seg")
    _assert_stored(tenant.workspace, "seg")

    queued = SegmentClient(
        tenant.write_key,
        host=live_server.url,
        upload_size=100,
        on_error=lambda e, b: errors.append(e),
    )
    _queue_many(queued, "seg")
    queued.shutdown()
    assert errors == []
    _assert_many(tenant.workspace, "seg")


def test_the_rudderstack_library_fills_tendril(live_server, tenant):
    errors = []
    client = RudderClient(
        tenant.write_key,
        host=live_server.url,
        sync_mode=True,
        on_error=lambda e, b: errors.append(e),
    )
    _exercise(client, tenant.workspace, "rud")
    _assert_stored(tenant.workspace, "rud")

    queued = RudderClient(
        tenant.write_key,
        host=live_server.url,
        upload_size=100,
        gzip=True,
        on_error=lambda e, b: errors.append(e),
    )
    _queue_many(queued, "rud")
    queued.shutdown()
    assert errors == []
    _assert_many(tenant.workspace, "rud")


def test_a_library_with_a_wrong_key_stores_nothing(live_server, tenant):
    errors = []
    client = SegmentClient(
        "tdw_wrong",
        host=live_server.url,
        sync_mode=True,
        max_retries=0,
        on_error=lambda e, b: errors.append(e),
    )
    with pytest.raises(Exception) as raised:
        client.track("user-1", "Signed Up")
    assert getattr(raised.value, "status", None) == 401
    assert not Event.objects.filter(workspace=tenant.workspace).exists()
