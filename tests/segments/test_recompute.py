"""Full recomputes: set-based diffs, history, progress, drift, snapshots."""

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.models import Contact, Event
from segments.models import Segment, SegmentMembership, SegmentMembershipChange, SegmentSizeSnapshot
from segments.services import segment_create, segment_recompute, segment_update
from segments.tasks import segments_recompute_drifting_all

pytestmark = pytest.mark.django_db


def members(segment):
    return set(
        SegmentMembership.objects.filter(segment=segment).values_list("contact_id", flat=True)
    )


@pytest.fixture
def create(django_capture_on_commit_callbacks):
    def go(ws, name, tree):
        with django_capture_on_commit_callbacks(execute=True):
            return segment_create(workspace=ws, name=name, filter=tree)

    return go


def test_saving_a_segment_computes_it_and_records_history_and_size(ws, create):
    de = [Contact.objects.create(workspace=ws, email=f"{i}@x.test", country="DE") for i in range(3)]
    Contact.objects.create(workspace=ws, email="fr@x.test", country="FR")
    segment = create(ws, "Germans", {"field": "country", "op": "eq", "value": "DE"})
    segment.refresh_from_db()
    assert members(segment) == {c.pk for c in de}
    assert (segment.member_count, segment.recompute_status, segment.recompute_progress) == (
        3,
        "idle",
        100,
    )
    assert SegmentMembershipChange.objects.filter(segment=segment, kind="entered").count() == 3
    assert Event.objects.filter(name="segment.entered").count() == 3
    assert SegmentSizeSnapshot.objects.get(segment=segment).size == 3


def test_a_recompute_in_chunks_adds_and_removes_exactly_the_difference(ws, create):
    contacts = [
        Contact.objects.create(workspace=ws, email=f"{i}@x.test", score=i) for i in range(10)
    ]
    segment = create(ws, "Top", {"field": "score", "op": "gte", "value": 5})
    Contact.objects.filter(pk__in=[c.pk for c in contacts[:2]]).update(score=99)
    Contact.objects.filter(pk=contacts[9].pk).update(score=0)
    applied = segment_recompute(segment=segment, chunk_size=3)
    assert sorted(applied.entered) == [contacts[0].pk, contacts[1].pk]
    assert applied.exited == [contacts[9].pk]
    assert members(segment) == {c.pk for c in contacts[:2] + contacts[5:9]}
    assert segment_recompute(segment=segment, chunk_size=4).changed is False  # a no-op diff


def test_editing_the_filter_recomputes_and_a_superseded_run_stops(
    ws, create, django_capture_on_commit_callbacks
):
    a = Contact.objects.create(workspace=ws, email="a@x.test", country="DE")
    b = Contact.objects.create(workspace=ws, email="b@x.test", country="FR")
    segment = create(ws, "Country", {"field": "country", "op": "eq", "value": "DE"})
    old_version = segment.filter_version
    with django_capture_on_commit_callbacks(execute=True):
        segment = segment_update(
            segment=segment, filter={"field": "country", "op": "eq", "value": "FR"}
        )
    assert members(segment) == {b.pk}
    assert segment_recompute(segment=segment, filter_version=old_version) is None
    assert a.pk not in members(segment)


def test_drifting_segments_follow_the_clock_without_any_event(ws, create):
    now = timezone.now()
    fresh = Contact.objects.create(
        workspace=ws, email="new@x.test", created_at=now - timedelta(hours=12)
    )
    segment = create(
        ws, "New this week", {"field": "created_at", "op": "within_last_days", "value": 7}
    )
    still = create(ws, "Still", {"field": "country", "op": "eq", "value": ""})
    assert segment.drifts and not still.drifts
    assert members(segment) == {fresh.pk}
    # Time passes: the contact is now 8 days old.
    Contact.objects.filter(pk=fresh.pk).update(created_at=now - timedelta(days=8))
    assert segments_recompute_drifting_all() == 1
    assert members(segment) == set()
    assert Event.objects.filter(contact=fresh, name="segment.exited").count() == 1
    assert SegmentSizeSnapshot.objects.get(segment=segment).size == 0
    assert SegmentSizeSnapshot.objects.filter(segment=still).exists()


def test_has_not_done_x_in_n_days_is_a_drifting_segment(ws, create):
    contact = Contact.objects.create(workspace=ws, email="a@x.test")
    Event.objects.create(
        workspace=ws,
        contact=contact,
        type="track",
        name="Login",
        timestamp=timezone.now() - timedelta(days=1),
        message_id="m1",
    )
    lapsed = create(
        ws, "Lapsed", {"event": "Login", "count": {"op": "eq", "value": 0}, "within_days": 30}
    )
    assert members(lapsed) == set()
    Event.objects.filter(message_id="m1").update(timestamp=timezone.now() - timedelta(days=31))
    segments_recompute_drifting_all()
    assert members(lapsed) == {contact.pk}


def test_a_static_list_recompute_only_recounts(ws):
    lst = Segment.objects.create(workspace=ws, name="L", kind="static", member_count=7)
    assert segment_recompute(segment=lst).changed is False
    lst.refresh_from_db()
    assert lst.member_count == 0
