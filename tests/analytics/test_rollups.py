"""Hourly rollups: the hours new events fall in are marked by the pipeline and recounted from
the events table — exact, never incremented, so nothing counts twice."""

from datetime import UTC, datetime, timedelta

import pytest

from analytics.models import DirtyHour, HourlyEventCount
from analytics.rollups import dirty_hours_mark, rollups_refresh
from contacts.hooks import IngestedBatch, events_ingested
from contacts.models import Contact
from tests.analytics.events import events_add

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 2, 9, 15, tzinfo=UTC)


def _event(ws, contact, name, at, *, type="track", **properties):
    (event,) = events_add(ws, contact, name, at, type=type, mark=False, **properties)
    return event


def _counts(ws):
    return {
        (row.hour, row.type, row.name): (row.events, row.contacts, row.revenue)
        for row in HourlyEventCount.objects.filter(workspace=ws)
    }


def test_the_pipeline_marks_the_hours_of_a_batch_and_a_refresh_counts_them(ws):
    ada, bob = Contact.objects.create(workspace=ws), Contact.objects.create(workspace=ws)
    events = [
        _event(ws, ada, "Order Completed", T0, revenue=49.9),
        _event(ws, bob, "Order Completed", T0 + timedelta(minutes=30), revenue="10.10"),
        _event(ws, ada, "Order Completed", T0 + timedelta(minutes=40), revenue="a lot"),
        _event(ws, ada, "Pricing", T0 + timedelta(hours=1), type="page"),
    ]
    events_ingested(IngestedBatch(workspace=ws, events=events))
    assert DirtyHour.objects.filter(workspace=ws).count() == 2

    assert rollups_refresh().hours == 2

    nine, ten = T0.replace(minute=0), T0.replace(minute=0) + timedelta(hours=1)
    assert _counts(ws) == {
        (nine, "track", "Order Completed"): (3, 2, pytest.approx(60)),
        (ten, "page", "Pricing"): (1, 1, 0),
    }
    assert not DirtyHour.objects.exists()


def test_recounting_an_hour_again_counts_nothing_twice(ws):
    ada = Contact.objects.create(workspace=ws)
    events = [_event(ws, ada, "Signed Up", T0)]
    for _ in range(2):  # a retried pipeline task marks the same hour again
        dirty_hours_mark(workspace=ws, timestamps=[e.timestamp for e in events])
        rollups_refresh()
    assert list(_counts(ws).values()) == [(1, 1, 0)]


def test_a_late_event_lands_in_the_hour_it_happened(ws):
    ada = Contact.objects.create(workspace=ws)
    dirty_hours_mark(workspace=ws, timestamps=[_event(ws, ada, "Signed Up", T0).timestamp])
    rollups_refresh()
    last_week = T0 - timedelta(days=7)
    late = _event(ws, ada, "Signed Up", last_week)  # a mobile queue flushed days later
    events_ingested(IngestedBatch(workspace=ws, events=[late]))
    rollups_refresh()
    assert _counts(ws)[(last_week.replace(minute=0), "track", "Signed Up")] == (1, 1, 0)
    assert _counts(ws)[(T0.replace(minute=0), "track", "Signed Up")] == (1, 1, 0)


def test_a_name_whose_events_are_gone_leaves_the_hour(ws):
    ada = Contact.objects.create(workspace=ws)
    gone = _event(ws, ada, "Trial Started", T0)
    _event(ws, ada, "Signed Up", T0)
    dirty_hours_mark(workspace=ws, timestamps=[T0])
    rollups_refresh()
    gone.delete()  # e.g. the contact's data was erased
    dirty_hours_mark(workspace=ws, timestamps=[T0])
    rollups_refresh()
    assert {name for _, _, name in _counts(ws)} == {"Signed Up"}


def test_a_workspace_counts_only_its_own_events(ws, other_ws):
    ours, theirs = Contact.objects.create(workspace=ws), Contact.objects.create(workspace=other_ws)
    _event(ws, ours, "Signed Up", T0)
    _event(other_ws, theirs, "Signed Up", T0)
    _event(other_ws, theirs, "Signed Up", T0 + timedelta(minutes=1))
    dirty_hours_mark(workspace=ws, timestamps=[T0])
    dirty_hours_mark(workspace=other_ws, timestamps=[T0])
    rollups_refresh()
    assert list(_counts(ws).values()) == [(1, 1, 0)]
    assert list(_counts(other_ws).values()) == [(2, 1, 0)]


def test_a_refresh_stops_at_its_limit_and_says_more_is_left(ws):
    dirty_hours_mark(workspace=ws, timestamps=[T0 + timedelta(hours=i) for i in range(3)])
    first = rollups_refresh(limit=2)
    assert (first.hours, first.remaining) == (2, True)
    assert rollups_refresh(limit=2) == type(first)(hours=1, remaining=False)
