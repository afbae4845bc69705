"""Recording the events of a send batch in one statement.

`contacts.services.event_record` writes one event per call (a get-or-create). A send batch
records one `email.sent` per message, so this inserts the batch's events at once with the
same semantics — deduplicated by (workspace, message_id), which makes a retried batch
record nothing twice — and returns the ids for `events_enqueue_processing`.
(A candidate for contacts.services as `events_record_many`.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from contacts.models import Event, EventType
from workspaces.models import Workspace


@dataclass(frozen=True)
class NewEvent:
    contact_id: int
    name: str
    properties: dict[str, Any]
    message_id: str
    timestamp: datetime | None = None


def events_record_many(*, workspace: Workspace, events: Sequence[NewEvent]) -> list[int]:
    if not events:
        return []
    now = timezone.now()
    rows = [
        Event(
            workspace=workspace,
            contact_id=event.contact_id,
            type=EventType.TRACK,
            name=event.name,
            properties=event.properties,
            context={},
            timestamp=event.timestamp or now,
            received_at=now,
            message_id=event.message_id,
            source="platform",
        )
        for event in events
    ]
    try:
        with transaction.atomic():  # the usual case: all new, ids come back from the INSERT
            return [row.pk for row in Event.objects.bulk_create(rows)]
    except IntegrityError:
        pass  # a retried batch: some exist already
    Event.objects.bulk_create(rows, ignore_conflicts=True)
    return list(
        Event.objects.filter(
            workspace=workspace, message_id__in=[event.message_id for event in events]
        ).values_list("pk", flat=True)
    )
