"""Writes for events: the one owner of the event table.

Every event row — ingested by /v1/, submitted by a form, or the platform's own signals
(`email.sent`, `score.changed`, `segment.entered`, `workflow.exited` …) — is inserted here:

- `event_record(...)`: one event (get-or-create on its message id);
- `events_record(...)`: many in one statement, idempotent on (workspace, message_id);
- `events_insert_ctes(...)` + `events_statement_execute(...)`: for the two writers that must
  record events in the same statement as the change they describe (ingestion's
  one-statement call, a segment's entries and exits) — the INSERT is still written here.

Deduplication on (workspace, message_id) is a claim in EventMessage made by the same
statement (the event table is partitioned by month; see docs/events.md).

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
from contacts.models import Contact, Event, EventMessage, EventType
from workspaces.models import Workspace

logger = logging.getLogger(__name__)

EVENT_TABLE = Event._meta.db_table
MESSAGE_TABLE = EventMessage._meta.db_table
# The ids' sequence, by the name every shape of the table gives it (the conversion to a
# partitioned table keeps it: contacts.services.event_partitions).
EVENT_ID_SEQUENCE = f"{EVENT_TABLE}_id_seq"
EVENT_COLUMNS = (
    "workspace_id",
    "contact_id",
    "type",
    "name",
    "properties",
    "context",
    "timestamp",
    "received_at",
    "message_id",
    "source",
)
# What each column of a writer's SELECT is read as: the writers pass untyped literals and
# parameters, which a subquery would otherwise resolve to text.
_COLUMN_TYPES = (
    "bigint",
    "bigint",
    "varchar",
    "varchar",
    "jsonb",
    "jsonb",
    "timestamptz",
    "timestamptz",
    "varchar",
    "varchar",
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


def events_insert_ctes(select: str, *, name: str, returning: str = "id") -> str:
    """The INSERT of events as common table expressions, for a statement's WITH list: the
    CTE `name` is the stored events' `returning` columns. `select` yields EVENT_COLUMNS in
    order. Run the statement with `events_statement_execute`.

    The event table is partitioned by month, so deduplication is a claim in EventMessage
    first: each row gets its event id from the table's sequence, claims its (workspace,
    message_id) with ON CONFLICT DO NOTHING, and only the claimed rows are inserted — a
    message id already stored (a retry, a replay, an earlier row of the same statement)
    is skipped, in whatever month its event fell. (Three CTEs because PostgreSQL allows
    data-modifying statements only at the top level of a WITH.)"""
    columns = ", ".join(
        f's."{column}"::{type_}' for column, type_ in zip(EVENT_COLUMNS, _COLUMN_TYPES, strict=True)
    )
    names = ", ".join(f'"{column}"' for column in EVENT_COLUMNS)
    return (
        f"{name}_rows AS (SELECT nextval('{EVENT_ID_SEQUENCE}'::regclass) AS id, "  # noqa: S608
        f"{columns} FROM ({select}) AS s({names})), "
        f"{name}_claims AS (INSERT INTO {MESSAGE_TABLE} (workspace_id, message_id, event_id,"
        f" received_at) SELECT workspace_id, message_id, id, received_at FROM {name}_rows "
        "ON CONFLICT DO NOTHING RETURNING event_id), "
        f"{name} AS (INSERT INTO {EVENT_TABLE} (id, {names}) SELECT id, {names} "
        f"FROM {name}_rows WHERE id IN (SELECT event_id FROM {name}_claims) "
        f"RETURNING {returning})"
    )


def events_statement_execute(sql: str, params: Any, *, cursor: Any = None) -> list[tuple[Any, ...]]:
    """Run a statement built around `events_insert_ctes` (on `cursor`, e.g. a prepared one,
    or a new one); its rows."""
    if cursor is not None:
        cursor.execute(sql, params)
        return list(cursor.fetchall())
    with connection.cursor() as own:
        own.execute(sql, params)
        return list(own.fetchall())


# The rows travel as one JSON document (serialised by orjson in C) rather than as one array
# per column that psycopg would adapt element by element in Python.
_EVENTS_INSERT = (
    "WITH "  # noqa: S608 — constant SQL; every value is a parameter
    + events_insert_ctes(
        "SELECT %s, r.c, r.t, r.n, r.p, r.x, coalesce(r.ts, %s), %s, r.m, %s "
        "FROM jsonb_to_recordset(%s::jsonb) "
        "AS r(c bigint, t text, n text, p jsonb, x jsonb, ts timestamptz, m text)",
        name="stored",
        returning="id, message_id",
    )
    + " SELECT id, message_id FROM stored"
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
            EventMessage.objects.filter(
                workspace_id=workspace_id, message_id__in=set(message_ids) - ids.keys()
            ).values_list("message_id", "event_id")
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
    message_id = message_id or f"tendril-{uuid.uuid4()}"
    new = NewEvent(contact.pk, name, properties, message_id, timestamp, type, context)
    for _attempt in range(2):
        (event_id,) = events_record(workspace=workspace, events=[new], source=source, existing=True)
        # By id alone: the sequence makes it unique; each partition's key leads with it.
        event = Event.objects.filter(workspace=workspace, pk=event_id).first()
        if event is not None:
            return event
        # The message id is remembered for an event deleted since (its contact erased, past
        # its workspace's retention): forget it and store this one.
        EventMessage.objects.filter(workspace=workspace, message_id=message_id).delete()
    raise AssertionError(f"event {message_id} neither stored nor found")
