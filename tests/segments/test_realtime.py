"""Membership moves in real time, inside the events_ingested pipeline, only where it can."""

import base64
import json

import pytest
from django.test import Client

from contacts.models import Contact, Event
from contacts.services import event_record, events_enqueue_processing
from segments.models import Segment, SegmentMembership, SegmentMembershipChange
from segments.processors import segment_membership_refresh, touches_from_batch
from segments.services import segment_create, static_list_add
from tests.support.worker import wait_for

pytestmark = pytest.mark.django_db


def members(segment):
    return set(
        SegmentMembership.objects.filter(segment=segment).values_list("contact_id", flat=True)
    )


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Run the pipeline (eagerly) for what a block enqueues."""

    def go(workspace, contact, name, changed=None, **properties):
        with django_capture_on_commit_callbacks(execute=True):
            event = (
                event_record(
                    workspace=workspace,
                    contact=contact,
                    name=name,
                    properties=properties,
                    source="api",
                )
                if name
                else None
            )
            events_enqueue_processing(
                workspace=workspace,
                event_ids=[event.pk] if event else [],
                changed_fields={contact.pk: changed} if changed else None,
            )

    return go


@pytest.fixture
def create(django_capture_on_commit_callbacks):
    def go(ws, name, tree, kind="dynamic"):
        with django_capture_on_commit_callbacks(execute=True):
            return segment_create(workspace=ws, name=name, filter=tree, kind=kind)

    return go


def test_an_event_moves_the_contact_in_and_records_segment_entered(ws, run, create):
    contact = Contact.objects.create(workspace=ws, email="a@x.test")
    buyers = create(ws, "Buyers", {"event": "Order Completed", "count": {"op": "gte", "value": 2}})
    run(ws, contact, "Order Completed")
    assert members(buyers) == set()
    run(ws, contact, "Order Completed")
    assert members(buyers) == {contact.pk}
    entered = Event.objects.get(contact=contact, name="segment.entered")
    assert entered.properties["segment_id"] == buyers.pk
    assert SegmentMembershipChange.objects.get(segment=buyers).reason == "realtime"
    buyers.refresh_from_db()
    assert buyers.member_count == 1


def test_a_field_change_moves_the_contact_out(ws, run, create):
    contact = Contact.objects.create(workspace=ws, email="a@x.test", country="DE")
    germans = create(ws, "Germans", {"field": "country", "op": "eq", "value": "DE"})
    assert members(germans) == {contact.pk}
    Contact.objects.filter(pk=contact.pk).update(country="FR")
    run(ws, contact, None, changed={"country"})
    assert members(germans) == set()
    assert Event.objects.filter(contact=contact, name="segment.exited").count() == 1


def test_segments_that_do_not_depend_on_the_change_are_not_evaluated(ws, run):
    contact = Contact.objects.create(workspace=ws, email="a@x.test", country="DE")
    # Saved without a recompute: membership is stale on purpose, so an evaluation would show.
    stale = Segment.objects.create(
        workspace=ws,
        name="Stale",
        filter={"field": "country", "op": "eq", "value": "DE"},
        dep_fields=["country"],
    )
    run(ws, contact, "Page Viewed")
    run(ws, contact, None, changed={"city"})
    assert members(stale) == set()
    run(ws, contact, None, changed={"country"})
    assert members(stale) == {contact.pk}


def test_a_new_contact_is_checked_against_every_segment(ws, run, create):
    never = create(
        ws, "Never ordered", {"event": "Order Completed", "count": {"op": "eq", "value": 0}}
    )
    contact = Contact.objects.create(workspace=ws, email="new@x.test")
    run(ws, contact, None, changed={"created"})
    assert members(never) == {contact.pk}


def test_membership_cascades_to_segments_that_reference_it(ws, run, create):
    contact = Contact.objects.create(workspace=ws, email="a@x.test")
    buyers = create(ws, "Buyers", {"event": "Order Completed"})
    not_buyers = create(ws, "Not buyers", {"not": {"segment": buyers.pk}})
    listeners = create(
        ws,
        "Entered buyers",
        {
            "event": "segment.entered",
            "where": [{"property": "segment_id", "op": "eq", "value": buyers.pk}],
        },
    )
    assert members(not_buyers) == {contact.pk}
    run(ws, contact, "Order Completed")
    assert members(buyers) == {contact.pk}
    assert members(not_buyers) == set()
    assert members(listeners) == {contact.pk}


def test_later_processors_see_the_membership_events(ws, create, monkeypatch):
    from contacts import hooks

    contact = Contact.objects.create(workspace=ws, email="a@x.test")
    create(ws, "Buyers", {"event": "Order Completed"})
    event = event_record(workspace=ws, contact=contact, name="Order Completed", source="api")
    batch = hooks.IngestedBatch(workspace=ws, events=[event])
    from segments.processors import segments_on_events_ingested

    segments_on_events_ingested(batch)
    assert [e.name for e in batch.events] == ["Order Completed", "segment.entered"]
    segments_on_events_ingested(batch)  # idempotent: a retried task records nothing twice
    assert Event.objects.filter(name="segment.entered").count() == 1


def test_a_batch_of_many_contacts_uses_the_compiled_query_with_the_same_result(ws, create):
    contacts = [
        Contact.objects.create(workspace=ws, email=f"{i}@x.test", score=i * 10) for i in range(8)
    ]
    hot = create(ws, "Hot", {"field": "score", "op": "gte", "value": 50})
    Contact.objects.filter(workspace=ws).update(score=100)
    touches = touches_from_batch(
        __import__("contacts.hooks", fromlist=["x"]).IngestedBatch(
            workspace=ws, changed_fields={c.pk: {"score"} for c in contacts}
        )
    )
    events = segment_membership_refresh(workspace=ws, touches=touches)
    assert len(events) == 5 and members(hot) == {c.pk for c in contacts}


def test_static_lists_ignore_the_pipeline_but_feed_it(
    ws, run, create, django_capture_on_commit_callbacks
):
    contact = Contact.objects.create(workspace=ws, email="a@x.test")
    vips = create(ws, "VIPs", None, kind="static")
    in_vips = create(ws, "In VIPs", {"segment": vips.pk})
    with django_capture_on_commit_callbacks(execute=True):
        static_list_add(segment=vips, contact_ids=[contact.pk], source="manual")
    assert members(vips) == {contact.pk}
    run(ws, contact, "anything")
    assert members(vips) == {contact.pk}
    assert members(in_vips) == {contact.pk}  # the list's segment.entered went through the pipeline


@pytest.mark.integration
def test_an_event_posted_to_v1_track_moves_membership_with_a_real_worker(tenant, celery_worker):
    ws = tenant.workspace
    buyers = segment_create(
        workspace=ws,
        name="Big buyers",
        filter={
            "event": "Order Completed",
            "where": [{"property": "revenue", "op": "gt", "value": 100}],
        },
    )
    wait_for(
        lambda: Segment.objects.get(pk=buyers.pk).recompute_status == "idle", message="recompute"
    )
    auth = "Basic " + base64.b64encode(f"{tenant.write_key}:".encode()).decode()
    body = {
        "userId": "u-1",
        "event": "Order Completed",
        "properties": {"revenue": 250},
        "messageId": "m-1",
    }
    response = Client().post(
        "/v1/track", json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=auth
    )
    assert response.status_code == 200, response.content
    contact = Contact.objects.get(workspace=ws, external_id="u-1")
    wait_for(lambda: members(buyers) == {contact.pk}, message="membership to move")
    assert Event.objects.filter(contact=contact, name="segment.entered").exists()
