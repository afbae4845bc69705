"""Retention of raw events per workspace (issue #19): whole partitions dropped when no
workspace needs them, the rest deleted in bounded batches per workspace — never a
table-wide DELETE — and a contact's erasure still removes their events in every partition."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from analytics.models import HourlyEventCount
from analytics.rollups import dirty_hours_mark, rollups_refresh
from contacts.models import Contact, Event, EventMessage
from contacts.services import NewEvent, events_record
from contacts.services.event_partitions import month_add, month_floor, partition_name
from contacts.services.event_retention import (
    event_messages_prune,
    event_retention_months,
    event_retention_set,
    events_retention_apply,
)
from messaging.privacy import contact_erase
from tests.conftest import make_tenant
from tests.contacts.partitions import names, partition_of, partitions, rows_in
from workspaces.errors import ValidationFailed

pytestmark = pytest.mark.django_db

EVENT_DELETE = re.compile(r'DELETE\s+FROM\s+"?contacts_event"?\s', re.IGNORECASE)


def _month(offset: int, day: int = 6):
    """A moment `day` days into the month `offset` months from now's."""
    return month_add(month_floor(timezone.now()), offset) + timedelta(days=day - 1)


def _event(ws, contact, at) -> int:
    (event_id,) = events_record(workspace=ws, events=[NewEvent(contact.pk, "Visit", timestamp=at)])
    return event_id


@pytest.fixture
def landscape(ws, other_ws):
    """Three workspaces, their events spread over months, and the day retention runs: 14
    months and 10 days after the start of this month — the default 13 months reach back to
    the 11th of next month."""
    brief = make_tenant("Brief", "brief@example.com").workspace
    event_retention_set(workspace=other_ws, months=None)  # keeps events forever
    event_retention_set(workspace=brief, months=1)
    ada = Contact.objects.create(workspace=ws)
    keeper = Contact.objects.create(workspace=other_ws)
    short = Contact.objects.create(workspace=brief)
    events = {
        "ws, 6 months ago": _event(ws, ada, _month(-6)),
        "ws, next month, before the cutoff": _event(ws, ada, _month(1, day=6)),
        "ws, next month, after the cutoff": _event(ws, ada, _month(1, day=20)),
        "ws, a month ago": _event(ws, ada, _month(-1)),
        "ws, ten years ago": _event(ws, ada, timezone.now() - timedelta(days=3650)),
        "keeper, 6 months ago": _event(other_ws, keeper, _month(-6)),
        "brief, in two months": _event(brief, short, _month(2)),
    }
    return events, month_add(month_floor(timezone.now()), 14) + timedelta(days=10)


def _left(events) -> set[str]:
    kept = set(Event.objects.filter(pk__in=events.values()).values_list("pk", flat=True))
    return {label for label, pk in events.items() if pk in kept}


def test_old_events_leave_by_partition_where_no_workspace_needs_it_else_in_batches(landscape):
    events, now = landscape
    before = names(partitions())
    result = events_retention_apply(now=now)

    assert _left(events) == {"ws, next month, after the cutoff", "keeper, 6 months ago"}
    dropped = set(result.dropped)
    # every month older than the default retention, and the history, went whole …
    assert partition_name("contacts_event", month_floor(_month(-1))) in dropped
    assert "contacts_event_history" in dropped
    # … but the month the forever-keeping workspace still has an event in stayed
    assert partition_name("contacts_event", month_floor(_month(-6))) not in dropped
    assert names(partitions()) == before - dropped
    # what was left in kept partitions went by batches: ws's June and next-month events, brief's
    assert result.deleted == 3
    assert not result.remaining


def test_retention_never_deletes_events_table_wide(landscape):
    events, now = landscape
    with CaptureQueriesContext(connection) as queries:
        events_retention_apply(now=now, batch=1)
    deletes = [q["sql"] for q in queries.captured_queries if EVENT_DELETE.search(q["sql"])]
    assert len(deletes) >= 3  # one statement per batch of one row, and one that found none
    for sql in deletes:
        assert re.search(r"workspace_id = \d+", sql), sql  # one workspace …
        assert re.search(r"LIMIT \d+", sql), sql  # … a bounded batch
        assert '"timestamp" <' in sql, sql  # … of old events only (old partitions only)
    assert not any("TRUNCATE" in q["sql"].upper() for q in queries.captured_queries)
    assert _left(events) == {"ws, next month, after the cutoff", "keeper, 6 months ago"}


def test_a_retention_run_stops_at_its_time_budget_and_says_work_is_left(landscape):
    events, now = landscape
    result = events_retention_apply(now=now, budget_seconds=0)
    assert result.remaining
    assert "ws, next month, before the cutoff" in _left(events)  # the rest is for the next run


def test_rollups_stay_when_their_events_leave(ws, landscape):
    events, now = landscape
    at = _month(-6)
    dirty_hours_mark(workspace=ws, timestamps=[at])
    rollups_refresh()
    counted = HourlyEventCount.objects.filter(workspace=ws).count()
    assert counted >= 1
    events_retention_apply(now=now)
    assert HourlyEventCount.objects.filter(workspace=ws).count() == counted


def test_erasing_a_contact_removes_their_events_from_every_partition(ws):
    ada, bob = Contact.objects.create(workspace=ws), Contact.objects.create(workspace=ws)
    now = timezone.now()
    moments = [
        now - timedelta(days=3650),  # history
        now - timedelta(days=120),  # an old month
        now,  # this month
        now + timedelta(days=300),  # beyond the months ahead: the default partition
    ]
    ada_events = [_event(ws, ada, at) for at in moments]
    bob_events = [_event(ws, bob, at) for at in moments]
    holding = {partition_of(pk) for pk in ada_events}
    assert len(holding) == 4 and "contacts_event_default" in holding

    contact_erase(workspace=ws, contact=ada)

    for partition in holding:
        assert rows_in(partition, contact_id=ada.pk) == 0
        assert rows_in(partition, contact_id=bob.pk) == 1
    assert Event.objects.filter(pk__in=bob_events).count() == 4


def test_message_ids_are_forgotten_after_the_deduplication_window(ws, settings):
    settings.EVENTS_DEDUPE_DAYS = 30
    contact = Contact.objects.create(workspace=ws)
    now = timezone.now()
    events_record(
        workspace=ws,
        events=[NewEvent(contact.pk, "A", message_id="old")],
        received_at=now - timedelta(days=31),
    )
    events_record(workspace=ws, events=[NewEvent(contact.pk, "A", message_id="new")])
    assert event_messages_prune(now=now) == (1, False)
    assert set(EventMessage.objects.filter(workspace=ws).values_list("message_id", flat=True)) == {
        "new"
    }


def test_a_workspace_sets_its_own_retention_or_keeps_the_default(ws, settings):
    settings.EVENTS_RETENTION_MONTHS = 13
    assert event_retention_months(workspace=ws) == 13
    out = StringIO()
    call_command("events_retention", str(ws.pk), "--months", "6", stdout=out)
    assert "6 months" in out.getvalue()
    assert event_retention_months(workspace=ws) == 6
    call_command("events_retention", str(ws.pk), "--forever", stdout=out)
    assert event_retention_months(workspace=ws) is None
    call_command("events_retention", str(ws.pk), "--default", stdout=out)
    assert event_retention_months(workspace=ws) == 13


@pytest.mark.parametrize("months", [0, -1, 5000])
def test_a_retention_outside_the_range_is_refused_and_changes_nothing(ws, months):
    event_retention_set(workspace=ws, months=6)
    with pytest.raises(ValidationFailed) as refused:
        event_retention_set(workspace=ws, months=months)
    assert "months" in refused.value.fields
    with pytest.raises(CommandError, match="months"):
        call_command("events_retention", str(ws.pk), "--months", str(months))
    assert event_retention_months(workspace=ws) == 6
