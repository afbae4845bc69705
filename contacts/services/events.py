"""Writes for events: the one owner of the event table.

Every event row — ingested by /v1/, submitted by a form, or the platform's own signals
(`email.sent`, `score.changed`, `segment.entered`, `workflow.exited` …) — is inserted here:

- `event_record(...)`: one event (get-or-create on its message id);
- `events_record(...)`: many in one statement, idempotent on (workspace, message_id);
- `events_insert_sql(...)` + `events_statement_execute(...)`: for the two writers that must
  record events in the same statement as the change they describe (ingestion's
  one-statement call, a segment's entries and exits) — the INSERT is still written here.

tests/contacts/test_event_writers.py fails when any other module inserts into the table.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from contacts.hooks import IngestedBatch, events_ingested
from contacts.models import Contact, Event, EventType
from workspaces.models import Workspace

logger = logging.getLogger(__name__)

EVENT_TABLE = Event._meta.db_table
EVENT_COLUMNS = (
    "(workspace_id, contact_id, type, name, properties, context, timestamp, received_at,"
    " message_id, source)"
)


class NewEvent(NamedTuple):
    """An event to record with `events_record`. Without a message id one is made up (the
    call is then not idempotent); without a timestamp it happened when it was received.
    (A tuple: ingestion builds one per message on its hot path.)"""

    contact_id: int | None
    name: str
    properties: dict[str, Any] | None = None
    message_id: str | None = None
    timestamp: datetime | None = None
    type: str = EventType.TRACK.value
    context: dict[str, Any] | None = None


def events_insert_sql(select: str, *, returning: str = "id") -> str:
    """The INSERT of events as an SQL statement (or a CTE of one). `select` yields the
    EVENT_COLUMNS in order; a (workspace, message_id) already stored is skipped, so every
    writer is idempotent on the message id. Run what embeds it with
    `events_statement_execute`."""
    return (
        f"INSERT INTO {EVENT_TABLE} {EVENT_COLUMNS} {select} "
        f"ON CONFLICT DO NOTHING RETURNING {returning}"
    )


def events_statement_execute(sql: str, params: Any, *, cursor: Any = None) -> list[tuple[Any, ...]]:
    """Run a statement built around `events_insert_sql` (on `cursor`, e.g. a prepared one,
    or a new one); its rows."""
    if cursor is not None:
        cursor.execute(sql, params)
        return list(cursor.fetchall())
    with connection.cursor() as own:
        own.execute(sql, params)
        return list(own.fetchall())


# The rows travel as one JSON document (serialised by orjson in C) rather than as one array
# per column that psycopg would adapt element by element in Python.
_EVENTS_INSERT = events_insert_sql(
    "SELECT %s, r.c, r.t, r.n, r.p, r.x, coalesce(r.ts, %s), %s, r.m, %s "
    "FROM jsonb_to_recordset(%s::jsonb) "
    "AS r(c bigint, t text, n text, p jsonb, x jsonb, ts timestamptz, m text)",
    returning="id, message_id",
)


def events_record(
    *,
    workspace: Workspace | int,
    events: Sequence[NewEvent],
    source: str = "platform",
    received_at: datetime | None = None,
    existing: bool = False,
) -> list[int | None]:
    """Record `events` in one INSERT; the ids, in the order of `events`.

    An event whose (workspace, message_id) is stored already — a retry, a replay, or an
    earlier event of the same batch — is not written again: its place holds None, or with
    `existing=True` the stored row's id (one more query, only when there are such events).
    """
    if not events:
        return []
    now = received_at or timezone.now()
    workspace_id = workspace if isinstance(workspace, int) else workspace.pk
    message_ids = [event.message_id or f"tendril-{uuid.uuid4()}" for event in events]
    rows = [
        {
            "c": event.contact_id,
            "t": event.type,
            "n": event.name,
            "p": event.properties if event.properties is not None else {},
            "x": event.context if event.context is not None else {},
            "ts": event.timestamp,
            "m": message_id,
        }
        for event, message_id in zip(events, message_ids, strict=True)
    ]
    inserted = events_statement_execute(
        _EVENTS_INSERT, [workspace_id, now, now, source, orjson.dumps(rows, default=str).decode()]
    )
    ids: dict[str, int] = {message_id: pk for pk, message_id in inserted}
    if existing and len(ids) < len(set(message_ids)):
        ids.update(
            Event.objects.filter(
                workspace_id=workspace_id, message_id__in=set(message_ids) - ids.keys()
            ).values_list("message_id", "pk")
        )
    result: list[int | None] = []
    placed: set[str] = set()
    for message_id in message_ids:
        if message_id in placed and not existing:
            result.append(None)  # a second event of this batch with the same message id
            continue
        placed.add(message_id)
        result.append(ids.get(message_id))
    return result


PENDING_INSERT_SQL = """
INSERT INTO contacts_pendingprocessing (workspace_id, created_at, event_ids, changed_fields, due_at)
VALUES (%(workspace)s, now(), %(ids)s::bigint[], %(changed)s::jsonb, now() + %(rescue)s)
RETURNING id
"""


def events_enqueue_processing(
    *,
    workspace: Workspace,
    event_ids: Iterable[int],
    changed_fields: Mapping[int, Iterable[str]] | None = None,
    pending_id: int | None = None,
) -> None:
    """Run the events_ingested pipeline once for these, after the current transaction commits.

    The work is first written down (a PendingProcessing row, in the caller's transaction, so
    it commits with the events); the task is published after commit. If the publish fails
    (Redis down) or the task is lost, the recovery sweep publishes it again — a 200 for
    accepted events never depends on Redis."""
    from .pending import pipeline_publish

    ids = list(event_ids)
    changed = {
        str(contact_id): sorted(fields) for contact_id, fields in (changed_fields or {}).items()
    }
    if not ids and not changed:
        return
    if pending_id is None:  # (ingestion's one-statement path wrote it with the event)
        pending_id = _pending_record(workspace, ids, changed)
    workspace_id, recorded = workspace.pk, pending_id

    def send() -> None:
        try:
            pipeline_publish(workspace_id, ids, changed, recorded, note=f"{len(changed)} contacts")
        except Exception:  # the broker is down: the work is on record, the sweep sends it
            logger.warning("process_events not published (pending %s)", recorded, exc_info=True)

    transaction.on_commit(send)


def _pending_record(workspace: Workspace, ids: list[int], changed: dict[str, list[str]]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            PENDING_INSERT_SQL,
            {
                "workspace": workspace.pk,
                "ids": ids,
                "changed": json.dumps(changed),
                "rescue": timedelta(seconds=settings.EVENTS_PROCESSING_RESCUE),
            },
        )
        return int(cursor.fetchone()[0])


def events_process(
    *, workspace: Workspace, event_ids: list[int], changed_fields: dict[str, list[str]]
) -> IngestedBatch:
    """Build the batch (events in timestamp order) and run the hook's processors."""
    events = list(
        Event.objects.for_workspace(workspace)
        .filter(pk__in=event_ids)
        .select_related("contact")
        .order_by("timestamp", "pk")
    )
    batch = IngestedBatch(workspace=workspace, events=events)
    for contact_id, fields in changed_fields.items():
        batch.mark_changed(int(contact_id), fields)
    events_ingested(batch)
    return batch


def event_record(
    *,
    workspace: Workspace,
    contact: Contact,
    name: str,
    properties: dict[str, Any] | None = None,
    type: str = EventType.TRACK,
    timestamp: datetime | None = None,
    source: str = "platform",
    message_id: str | None = None,
    context: dict[str, Any] | None = None,
) -> Event:
    """Record one event on a contact, e.g. the platform's own `email.opened`.

    This only writes the row. Callers outside the pipeline follow it with
    `events_enqueue_processing`; processors inside it pass the event to `batch.add_events`.
    A `message_id` makes the call idempotent: a second call returns the first event.
    """
    now = timezone.now()
    event, _ = Event.objects.get_or_create(
        workspace=workspace,
        message_id=message_id or f"tendril-{uuid.uuid4()}",
        defaults={
            "contact": contact,
            "type": type,
            "name": name,
            "properties": properties or {},
            "context": context or {},
            "timestamp": timestamp or now,
            "received_at": now,
            "source": source,
        },
    )
    return event
