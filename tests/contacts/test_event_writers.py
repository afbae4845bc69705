"""One writer of the event table (issue #14): contacts/services/events.py inserts every
event row; the other apps call it. Statically (no other module carries an INSERT of events)
and at run time (tests/support/event_writers.py, applied to every test by tests/conftest.py)."""

import base64
import json
import re

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact, Event
from contacts.services import event_record
from segments.services import segment_create
from tests.support.event_writers import EVENT_INSERT, OWNER, ROOT

APPS = ("workspaces", "contacts", "segments", "scoring", "messaging", "workflows", "analytics")
WRITES = [
    re.compile(r"INSERT\s+INTO\s+\"?contacts_event\b", re.IGNORECASE),
    re.compile(r"INSERT\s+INTO\s+\{EVENTS?(_TABLE)?\}"),
    re.compile(r"\bEvent\.objects\.(create|bulk_create|get_or_create|update_or_create)\("),
]


def app_modules():
    for app in (*APPS, "config"):
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path.relative_to(ROOT).as_posix(), path.read_text()


def test_no_module_but_the_events_service_writes_event_rows():
    offenders = [
        f"{name}: {match.group(0)}"
        for name, text in app_modules()
        if name != OWNER
        for pattern in WRITES
        for match in pattern.finditer(text)
    ]
    assert offenders == []


def test_the_scan_finds_the_events_services_own_insert():
    """(The scan above would pass on anything if its patterns matched nothing.)"""
    text = (ROOT / OWNER).read_text()
    assert any(pattern.search(text) for pattern in WRITES)


@pytest.mark.django_db
def test_an_insert_of_events_from_another_app_module_fails_the_test(ws):
    contact = Contact.objects.create(workspace=ws, external_id="u-1")
    # Code compiled as if it were a module of the workflows app, writing events itself.
    rogue = compile(
        "Event.objects.create(workspace=ws, contact=contact, type='track', name='x',"
        " timestamp=now, received_at=now, message_id='rogue')",
        str(ROOT / "workflows" / "rogue_writer.py"),
        "exec",
    )
    from django.utils import timezone

    refused = pytest.raises(
        AssertionError, match="workflows/rogue_writer.py inserts into the event"
    )
    with refused, transaction.atomic():
        exec(rogue, {"Event": Event, "ws": ws, "contact": contact, "now": timezone.now()})  # noqa: S102
    # Through the service the same write is fine.
    assert event_record(workspace=ws, contact=contact, name="x", message_id="ok").pk


@pytest.mark.django_db
def test_ingestion_and_the_pipeline_write_events_only_through_the_service(
    tenant, django_capture_on_commit_callbacks
):
    """The run-time guard sees the statements of both ingestion paths and of a segment's
    entry (so it is not passing because it never looks)."""
    ws = tenant.workspace
    segment_create(
        workspace=ws,
        name="Buyers",
        filter={"all": [{"event": "Order Completed"}]},
    )
    auth = "Basic " + base64.b64encode(f"{tenant.write_key}:".encode()).decode()

    def post(path, body):
        return Client().post(
            path, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=auth
        )

    order = {"type": "track", "event": "Order Completed", "userId": "u-1", "properties": {}}
    with CaptureQueriesContext(connection) as queries:
        with django_capture_on_commit_callbacks(execute=True):
            batch = {"batch": [{**order, "messageId": "m-1"}, {**order, "messageId": "m-2"}]}
            assert post("/v1/batch", batch).status_code == 200
        with django_capture_on_commit_callbacks(execute=True):
            assert post("/v1/track", {**order, "messageId": "m-3"}).status_code == 200
    inserts = [q["sql"] for q in queries.captured_queries if EVENT_INSERT.search(q["sql"])]
    names = sorted(Event.objects.filter(workspace=ws).values_list("name", flat=True))
    assert names == ["Order Completed"] * 3 + ["segment.entered"]
    assert len(inserts) >= 3  # the batch, the single call, the segment entry
