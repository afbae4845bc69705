"""Writes for contacts and events."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from contacts.hooks import IngestedBatch, events_ingested
from contacts.models import Contact, Event, EventType
from workspaces.models import Workspace

logger = logging.getLogger(__name__)


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
    from config.fast_publish import publish
    from contacts.tasks import process_events

    ids = list(event_ids)
    changed = {
        str(contact_id): sorted(fields) for contact_id, fields in (changed_fields or {}).items()
    }
    if not ids and not changed:
        return
    if pending_id is None:  # (ingestion's one-statement path wrote it with the event)
        pending_id = _pending_record(workspace, ids, changed)

    def send() -> None:
        try:
            # argsrepr: Celery would otherwise build a safe repr of every event id for the
            # message headers, on the request's hot path.
            publish(
                process_events,
                (workspace.pk, ids, changed, pending_id),
                argsrepr=f"({workspace.pk}, <{len(ids)} events>, <{len(changed)} contacts>, "
                f"{pending_id})",
            )
        except Exception:  # the broker is down: the work is on record, the sweep sends it
            logger.warning("process_events not published (pending %s)", pending_id, exc_info=True)

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
