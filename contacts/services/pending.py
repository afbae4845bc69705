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


def pipeline_publish(
    workspace_id: int,
    event_ids: list[int],
    changed: dict[str, list[str]],
    pending_id: int,
    *,
    note: str,
) -> None:
    """Hand the work on record to `contacts.process_events`: an item on the workspace's own
    list in the `pipeline` queue, taken in turns with other workspaces' (config/fair_queue.py)."""
    from config.fair_queue import fair_push
    from contacts.tasks import process_events

    fair_push(
        process_events,
        workspace_id,
        (workspace_id, event_ids, changed, pending_id),
        weight=len(event_ids),
        # (argsrepr: Celery would otherwise build a safe repr of every event id for the
        # message headers, on the request's hot path)
        argsrepr=f"({workspace_id}, <{len(event_ids)} events>, <{note}>, {pending_id})",
    )


def pending_recover() -> int:
    """Publish again the work whose time has come (its task was lost or failed for good);
    each row at most once per EVENTS_PROCESSING_RESCUE. Returns how many."""
    from config.fair_queue import fair_ring
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
        pipeline_publish(workspace_id, list(event_ids), changed, pending_id, note="recovered")
    # Work still waiting on the ring with no doorbell left (a Redis that lost the Celery
    # queue but kept the lists, a worker that died holding the last doorbells) is woken here.
    fair_ring(process_events)
    return len(rows)
