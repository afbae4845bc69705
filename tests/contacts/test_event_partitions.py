"""The event table is partitioned by month (issue #19): the layout a fresh install gets, the
messageId deduplication across partitions, months created ahead by beat, and queries that
name a window reading only their partitions (checked on the plan PostgreSQL makes)."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from analytics.funnels import funnel_compute
from analytics.rollups import dirty_hours_mark, rollups_refresh
from contacts.models import Contact, Event, EventMessage
from contacts.services import NewEvent, event_record, events_record
from contacts.services.event_partitions import (
    event_partitions_ensure,
    month_add,
    month_floor,
    partition_name,
    table_partitioned,
)
from contacts.services.event_retention import as_owner
from segments.filters import filter_count
from tests.contacts.partitions import (
    event_tables_read,
    names,
    overlapping,
    partition_of,
    partitions,
    rows_in,
)

pytestmark = pytest.mark.django_db


def _statement(queries, needle: str) -> str:
    found = [q["sql"] for q in queries if needle in q["sql"]]
    assert found, f"no statement with {needle!r} among {len(queries)}"
    return found[-1]


def test_a_fresh_install_has_the_event_table_partitioned_by_month():
    now = timezone.now()
    with connection.cursor() as cursor:
        assert table_partitioned(cursor)
    parts = partitions()
    current = month_floor(now)
    monthly = {partition_name("contacts_event", month_add(current, n)) for n in range(-12, 3)}
    assert monthly <= names(parts)  # the last year, this month, EVENTS_PARTITIONS_AHEAD ahead
    assert {"contacts_event_history", "contacts_event_default"} <= names(parts)
    # every month is one partition: [1st 00:00 UTC, next 1st)
    this_month = next(p for p in parts if p.name == partition_name("contacts_event", current))
    assert (this_month.lower, this_month.upper) == (current, month_add(current, 1))


def test_events_are_stored_in_the_partition_of_their_month(ws):
    contact = Contact.objects.create(workspace=ws)
    now = timezone.now()
    old, recent, ancient = events_record(
        workspace=ws,
        events=[
            NewEvent(contact.pk, "Old", timestamp=now - timedelta(days=100)),
            NewEvent(contact.pk, "Recent", timestamp=now),
            NewEvent(contact.pk, "Ancient", timestamp=now - timedelta(days=3650)),
        ],
    )
    assert partition_of(old) == partition_name(
        "contacts_event", month_floor(now - timedelta(days=100))
    )
    assert partition_of(recent) == partition_name("contacts_event", month_floor(now))
    assert partition_of(ancient) == "contacts_event_history"
    # Django's ORM reads and updates events by id whatever their partition
    event = Event.objects.get(pk=old)
    event.properties = {"seen": True}
    event.save()
    assert Event.objects.get(pk=old).properties == {"seen": True}


def test_a_replayed_message_id_is_refused_whatever_month_its_event_fell_in(ws):
    contact = Contact.objects.create(workspace=ws)
    now = timezone.now()
    (first,) = events_record(
        workspace=ws,
        events=[
            NewEvent(contact.pk, "Order", message_id="m-1", timestamp=now - timedelta(days=90))
        ],
    )
    # the replay's clock says another month: another partition, the same message id
    replay = events_record(
        workspace=ws, events=[NewEvent(contact.pk, "Order", message_id="m-1", timestamp=now)]
    )
    assert replay == [None]
    assert events_record(
        workspace=ws,
        events=[NewEvent(contact.pk, "Order", message_id="m-1", timestamp=now)],
        existing=True,
    ) == [first]
    assert Event.objects.filter(workspace=ws, message_id="m-1").count() == 1
    assert EventMessage.objects.get(workspace=ws, message_id="m-1").event_id == first
    # one writer call, one event, however often it is retried
    again = event_record(workspace=ws, contact=contact, name="Order", message_id="m-1")
    assert again.pk == first


def test_the_same_message_id_in_two_workspaces_is_two_events(ws, other_ws):
    a = Contact.objects.create(workspace=ws)
    b = Contact.objects.create(workspace=other_ws)
    assert events_record(workspace=ws, events=[NewEvent(a.pk, "X", message_id="same")]) != [None]
    assert events_record(workspace=other_ws, events=[NewEvent(b.pk, "X", message_id="same")]) != [
        None
    ]


def _post(path, body, key):
    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    return Client().post(
        path, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=auth
    )


def test_a_single_track_call_replayed_with_another_clock_stores_one_event(ws, tenant):
    """The one-statement path for a known contact claims the message id too."""
    long_ago = (timezone.now() - timedelta(days=200)).isoformat()
    call = {"type": "track", "userId": "u-1", "event": "Paid", "messageId": "pay-1"}
    assert _post("/v1/track", {**call, "timestamp": long_ago}, tenant.write_key).status_code == 200
    # now a known contact with a known event: the single-statement path
    assert _post("/v1/track", call, tenant.write_key).status_code == 200
    assert _post("/v1/track", {**call, "messageId": "pay-2"}, tenant.write_key).status_code == 200
    stored = Event.objects.filter(workspace=ws, name="Paid").order_by("timestamp")
    assert [e.message_id for e in stored] == ["pay-1", "pay-2"]
    assert stored[0].timestamp.isoformat()[:10] == long_ago[:10]


def test_beat_creates_the_months_ahead_and_takes_their_rows_out_of_the_default_partition(ws):
    contact = Contact.objects.create(workspace=ws)
    later = timezone.now() + timedelta(days=200)  # beyond the months created ahead
    (event_id,) = events_record(
        workspace=ws, events=[NewEvent(contact.pk, "Far ahead", timestamp=later)]
    )
    assert partition_of(event_id) == "contacts_event_default"

    with as_owner():
        created = event_partitions_ensure(now=later, ahead=1)

    month = month_floor(later)
    assert partition_name("contacts_event", month) in created
    assert partition_name("contacts_event", month_add(month, 1)) in created
    assert partition_of(event_id) == partition_name("contacts_event", month)
    assert rows_in("contacts_event_default") == 0
    with as_owner():
        assert event_partitions_ensure(now=later, ahead=1) == []  # nothing twice


def test_a_seven_day_event_condition_reads_only_the_partitions_of_its_window(ws):
    contact = Contact.objects.create(workspace=ws)
    now = timezone.now()
    events_record(
        workspace=ws,
        events=[
            NewEvent(contact.pk, "Order Completed", timestamp=now - timedelta(days=3)),
            NewEvent(contact.pk, "Order Completed", timestamp=now - timedelta(days=60)),
        ],
    )
    tree = {"event": "Order Completed", "within_days": 7, "count": {"op": "gte", "value": 2}}
    with CaptureQueriesContext(connection) as queries:
        assert filter_count(workspace=ws, tree=tree) == 0  # the second order is older
    read = event_tables_read(_statement(queries.captured_queries, "FROM contacts_event e"))
    # (the window starts 7 days ago, at the latest at the start of that day)
    assert overlapping(now - timedelta(days=7), None) - {"contacts_event_default"} <= read
    assert read <= overlapping(now - timedelta(days=8), None)
    assert "contacts_event_history" not in read
    assert len(read) < len(partitions()) - 10  # a year of months and the history pruned


def test_a_funnel_reads_only_the_partitions_of_its_period_and_window(ws):
    contact = Contact.objects.create(workspace=ws)
    end = timezone.now()
    start = end - timedelta(days=20)
    events_record(
        workspace=ws,
        events=[
            NewEvent(contact.pk, "Signed Up", timestamp=start + timedelta(days=1)),
            NewEvent(contact.pk, "Order Completed", timestamp=start + timedelta(days=2)),
        ],
    )
    with CaptureQueriesContext(connection) as queries:
        result = funnel_compute(
            workspace=ws,
            steps=[{"event": "Signed Up"}, {"event": "Order Completed"}],
            window_days=7,
            start=start,
            end=end,
        )
    assert [row.contacts for row in result.steps] == [1, 1]
    read = event_tables_read(_statement(queries.captured_queries, "FROM contacts_event e"))
    assert overlapping(start, end + timedelta(days=7), default=False) <= read
    assert read <= overlapping(start, end + timedelta(days=7, seconds=1))
    assert "contacts_event_history" not in read


def test_an_hourly_rollup_recount_reads_only_the_partition_of_its_hours(ws):
    contact = Contact.objects.create(workspace=ws)
    at = timezone.now() - timedelta(days=45)
    events_record(workspace=ws, events=[NewEvent(contact.pk, "Signed Up", timestamp=at)])
    dirty_hours_mark(workspace=ws, timestamps=[at])
    with CaptureQueriesContext(connection) as queries:
        assert rollups_refresh().hours == 1
    read = event_tables_read(_statement(queries.captured_queries, "FROM contacts_event e"))
    hour = at.replace(minute=0, second=0, microsecond=0)
    assert read == overlapping(hour, hour + timedelta(hours=1), default=False)


def test_no_model_references_events_by_a_foreign_key():
    """A foreign key to the event table could not be a database constraint (its primary key
    is (id, timestamp)), and a dropped partition would leave it dangling: other tables keep
    a plain `event_id` (scoring's ledger, attributed conversions)."""
    from django.apps import apps

    referencing = [
        f"{model._meta.label}.{field.name}"
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if field.is_relation and field.concrete and field.related_model is Event
    ]
    assert referencing == []
    plain = {
        model._meta.label
        for model in apps.get_models()
        if any(f.name == "event_id" and not f.is_relation for f in model._meta.concrete_fields)
    }
    assert {"scoring.ScoreChange", "analytics.AttributedConversion"} <= plain
