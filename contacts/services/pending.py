"""Pipeline work on record (PendingProcessing): what `events_enqueue_processing` wrote down
with the events, done by `contacts.process_events`, and published again by the recovery
sweep when its task was lost. See docs/security.md "Faults: exactly once"."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction

RECOVER_LIMIT = 5_000

RECOVER_SQL = """
WITH due AS (
    SELECT id FROM contacts_pendingprocessing
    WHERE due_at <= now()
    ORDER BY due_at
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE contacts_pendingprocessing AS p SET due_at = now() + %(rescue)s
FROM due WHERE p.id = due.id
RETURNING p.id, p.workspace_id, p.event_ids, p.changed_fields
"""


def pending_open(pending_ids: Iterable[int]) -> set[int]:
    """Which of these are still to do."""
    ids = list(pending_ids)
    if not ids:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM contacts_pendingprocessing WHERE id = ANY(%s::bigint[])", [ids]
        )
        return {row[0] for row in cursor.fetchall()}


def pending_done(pending_ids: Iterable[int]) -> None:
    ids = list(pending_ids)
    if ids:
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM contacts_pendingprocessing WHERE id = ANY(%s::bigint[])", [ids]
            )


def pending_recover() -> int:
    """Publish again the work whose time has come (its task was lost or failed for good);
    each row at most once per EVENTS_PROCESSING_RESCUE. Returns how many."""
    from config.fast_publish import publish
    from contacts.tasks import process_events

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            RECOVER_SQL,
            {
                "limit": RECOVER_LIMIT,
                "rescue": timedelta(seconds=settings.EVENTS_PROCESSING_RESCUE),
            },
        )
        rows = cursor.fetchall()
    for pending_id, workspace_id, event_ids, changed in rows:
        if isinstance(changed, str):  # Django leaves jsonb undecoded on raw cursors
            changed = json.loads(changed)
        publish(
            process_events,
            (workspace_id, list(event_ids), changed, pending_id),
            argsrepr=f"({workspace_id}, <{len(event_ids)} events>, <recovered>, {pending_id})",
        )
    return len(rows)
