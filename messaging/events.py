"""Recording the events of a send batch in one statement.

`contacts.services.event_record` writes one event per call (a get-or-create). A send batch
records one `email.sent` per message, so this inserts the batch's events at once with the
same semantics — deduplicated by (workspace, message_id), which makes a retried batch
record nothing twice — and returns the ids for `events_enqueue_processing`.
(A candidate for contacts.services as `events_record_many`.)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
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


# The same statement shape as ingestion's: one JSON document for the batch (serialised once,
# not quoted per element by the driver), duplicates of (workspace, message_id) skipped.
_INSERT = """
INSERT INTO contacts_event
    (workspace_id, contact_id, type, name, properties, context, timestamp, received_at,
     message_id, source)
SELECT %(workspace)s, r.c, %(type)s, r.n, r.p, '{}'::jsonb, r.ts, %(now)s, r.m, 'platform'
FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(c bigint, n text, p jsonb, ts timestamptz, m text)
ON CONFLICT DO NOTHING
RETURNING id, message_id
"""


def events_record_many(*, workspace: Workspace, events: Sequence[NewEvent]) -> list[int]:
    """Insert the events (those already recorded, by message id, are found instead);
    returns the ids of all of them."""
    if not events:
        return []
    now = timezone.now()
    rows = [
        {
            "c": event.contact_id,
            "n": event.name,
            "p": event.properties,
            "ts": (event.timestamp or now).isoformat(),
            "m": event.message_id,
        }
        for event in events
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT,
            {
                "workspace": workspace.pk,
                "type": EventType.TRACK.value,
                "now": now,
                "rows": json.dumps(rows, default=str),
            },
        )
        ids = [pk for pk, _ in cursor.fetchall()]
    if len(ids) == len({event.message_id for event in events}):
        return ids
    # A retried batch: some were recorded before.
    return list(
        Event.objects.filter(
            workspace=workspace, message_id__in=[event.message_id for event in events]
        ).values_list("pk", flat=True)
    )
