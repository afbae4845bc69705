"""Writes for contacts and events."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from contacts.hooks import IngestedBatch, events_ingested
from contacts.models import Contact, Event, EventType
from workspaces.models import Workspace


def events_enqueue_processing(
    *,
    workspace: Workspace,
    event_ids: Iterable[int],
    changed_fields: Mapping[int, Iterable[str]] | None = None,
) -> None:
    """After the current transaction commits, run the events_ingested pipeline once for these."""
    from config.fast_publish import publish
    from contacts.tasks import process_events

    ids = list(event_ids)
    changed = {
        str(contact_id): sorted(fields) for contact_id, fields in (changed_fields or {}).items()
    }
    if not ids and not changed:
        return
    # argsrepr: Celery would otherwise build a safe repr of every event id for the
    # message headers, on the request's hot path.
    transaction.on_commit(
        lambda: publish(
            process_events,
            (workspace.pk, ids, changed),
            argsrepr=f"({workspace.pk}, <{len(ids)} events>, <{len(changed)} contacts>)",
        )
    )


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
