"""contacts' set-based tag writes and event-window reads (what workflows' tag steps and
preview on history call through workflows.integrations)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts import selectors
from contacts.models import Contact, EventDefinition
from contacts.services import contacts as contact_services
from contacts.services import event_record

pytestmark = pytest.mark.django_db


def test_tags_apply_adds_in_order_removes_and_reports_no_change(ws):
    ada = Contact.objects.create(workspace=ws, email="ada@acme.test", tags=["a"])
    add = contact_services.contact_tags_apply
    assert add(workspace=ws, contact=ada, tags=[" b ", "a", "c"], add=True) == ["a", "b", "c"]
    assert add(workspace=ws, contact=ada, tags=["a", "b"], add=True) is None
    assert add(workspace=ws, contact=ada, tags=["b", "zz"], add=False) == ["a", "c"]
    assert add(workspace=ws, contact=ada, tags=["zz"], add=False) is None
    assert add(workspace=ws, contact=ada, tags=["  "], add=True) is None
    ada.refresh_from_db()
    assert ada.tags == ["a", "c"]


def test_tags_apply_never_touches_another_workspaces_contact(ws, other_ws):
    theirs = Contact.objects.create(workspace=other_ws, email="x@other.test", tags=[])
    changed = contact_services.contact_tags_apply(
        workspace=ws, contact=theirs, tags=["mine"], add=True
    )
    assert changed is None
    assert Contact.objects.filter(pk=theirs.pk, tags=[]).exists()


def test_tags_changed_then_written_in_one_statement(ws, other_ws, django_assert_num_queries):
    ada = Contact.objects.create(workspace=ws, email="ada@acme.test", tags=["a"])
    bob = Contact.objects.create(workspace=ws, email="bob@acme.test", tags=[])
    theirs = Contact.objects.create(workspace=other_ws, email="x@other.test", tags=[])
    assert contact_services.tags_changed(ada.tags, ["a"], add=True) is None
    ada.tags = contact_services.tags_changed(ada.tags, ["b"], add=True)
    bob.tags = contact_services.tags_changed(bob.tags, ["c"], add=True)
    theirs.tags = ["c"]
    with django_assert_num_queries(1):
        contact_services.contacts_tags_write(workspace=ws, contacts=[ada, bob, theirs])
    assert Contact.objects.get(pk=ada.pk).tags == ["a", "b"]
    assert Contact.objects.get(pk=bob.pk).tags == ["c"]
    assert Contact.objects.get(pk=theirs.pk).tags == []


def test_event_window_reads_count_sample_and_stay_in_the_workspace(ws, other_ws):
    now = timezone.now()
    ada = Contact.objects.create(workspace=ws, email="ada@acme.test")
    bob = Contact.objects.create(workspace=ws, email="bob@acme.test")
    theirs = Contact.objects.create(workspace=other_ws, email="x@other.test")
    for contact, name, ago in [
        (ada, "Order", 1), (ada, "Order", 2), (bob, "Order", 3), (bob, "Signup", 4),
        (ada, "Order", 40), (theirs, "Order", 1),
    ]:  # fmt: skip
        event_record(
            workspace=contact.workspace, contact=contact, name=name,
            timestamp=now - timedelta(hours=ago),
        )  # fmt: skip
    since, until = now - timedelta(days=1), now
    contacts, events, sample = selectors.event_hits(
        workspace=ws, names=["Order"], since=since, until=until, sample=1
    )
    assert (contacts, events, len(sample)) == (2, 3, 1)
    assert sample[0] in {ada.pk, bob.pk}
    found = selectors.events_of_contacts(
        workspace=ws, contact_ids=[ada.pk, theirs.pk], names=["Order"], since=since, until=until
    )
    assert [e.contact_id for e in found] == [ada.pk, ada.pk]
    assert found[0].timestamp < found[1].timestamp
    assert selectors.events_in_window(workspace=ws, since=since, until=until) == 4


def test_event_definition_rows_narrow_by_prefix_and_names(ws, other_ws):
    now = timezone.now()
    for ago, name in enumerate(["Order Completed", "order.refunded", "Signup"]):
        EventDefinition.objects.create(
            workspace=ws, name=name, property_keys=["k"], last_seen_at=now - timedelta(hours=ago)
        )
    EventDefinition.objects.create(workspace=other_ws, name="Order Theirs")
    rows = selectors.event_definition_rows(workspace=ws, prefix="order")
    assert [r[:2] for r in rows] == [("Order Completed", ["k"]), ("order.refunded", ["k"])]
    only = selectors.event_definition_rows(workspace=ws, names=["Signup", "Nope"], limit=1)
    assert [r[0] for r in only] == ["Signup"]
