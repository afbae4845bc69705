"""The scheduler tick: messages whose `send_after` has come are queued again, due broadcasts
start, finished A/B tests pick their winner; and the recovery sweep for sends whose worker
died (`messages_recover`, see sending.py and docs/security.md "Faults: exactly once").

Waits are rows, never Celery countdowns: a quiet-hours deferral, a retry backoff, a
scheduled broadcast and a send-time-optimised delivery are all `send_after` on a row.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ..models import Message, MessageStatus, MessagingSettings

DISPATCH_LIMIT = 20_000
RECOVER_LIMIT = 20_000


def messages_dispatch_due(*, workspace_ids: Iterable[int] | None = None) -> int:
    """Queue every due scheduled message of workspaces that are not paused. Returns how many."""
    from .enqueue import messages_enqueue_sending

    now = timezone.now()
    paused = set(
        MessagingSettings.objects.filter(sending_paused=True).values_list("workspace_id", flat=True)
    )
    due = Message.objects.filter(status=MessageStatus.SCHEDULED, send_after__lte=now)
    if workspace_ids is not None:
        due = due.filter(workspace_id__in=list(workspace_ids))
    if paused:
        due = due.exclude(workspace_id__in=paused)
    queued = 0
    with transaction.atomic():
        rows = list(
            due.select_for_update(skip_locked=True)
            .order_by("send_after")
            .values_list("pk", "workspace_id")[:DISPATCH_LIMIT]
        )
        by_workspace: dict[int, list[int]] = {}
        for pk, workspace_id in rows:
            by_workspace.setdefault(workspace_id, []).append(pk)
        for workspace_id, ids in by_workspace.items():
            Message.objects.filter(pk__in=ids).update(status=MessageStatus.QUEUED, updated_at=now)
            messages_enqueue_sending(workspace_id=workspace_id, message_ids=ids)
            queued += len(ids)
    return queued


RECOVER_SQL = """
WITH stale AS (
    SELECT id FROM messaging_message
    WHERE {where}
    ORDER BY updated_at
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE messaging_message AS m SET {set}, updated_at = now()
FROM stale WHERE m.id = stale.id
RETURNING m.id, m.workspace_id
"""
# Claimed by a task that stopped renewing its claim before handing these to the provider.
NOT_HANDED_OVER = (
    "status = 'sending' AND provider_called_at IS NULL AND updated_at < now() - %(lease)s",
    "status = 'queued', send_claim = NULL",
)
# Handed to the provider by a task that cannot be alive any more (past its hard time limit)
# and never recorded the answer.
OUTCOME_UNKNOWN = (
    "status = 'sending' AND provider_called_at < now() - %(unknown_after)s",
    "status = 'failed', error = %(error)s",
)
# Queued, but the send task is gone (the broker lost it, or the process that was to publish
# it died after commit): publish again. Each row at most once per MESSAGING_QUEUED_RESCUE.
QUEUED_LOST = (
    "status = 'queued' AND updated_at < now() - %(rescue)s",
    "status = 'queued'",
)


def _recover(kind: tuple[str, str], params: dict[str, object]) -> dict[int, list[int]]:
    where, assignments = kind
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            RECOVER_SQL.format(where=where, set=assignments), {**params, "limit": RECOVER_LIMIT}
        )
        rows = cursor.fetchall()
    by_workspace: dict[int, list[int]] = {}
    for pk, workspace_id in rows:
        by_workspace.setdefault(workspace_id, []).append(pk)
    return by_workspace


def send_unknown_after() -> timedelta:
    """After this long, a task that handed a message to the provider is surely gone: its hard
    time limit has killed it if nothing else did."""
    from ..tasks import messages_send_task

    limit = messages_send_task.time_limit or settings.CELERY_TASK_TIME_LIMIT
    return timedelta(seconds=limit + 10)


def messages_recover() -> dict[str, int]:
    """Resolve sends whose worker died: never handed over → queued again (sent exactly once
    by another task); handed over and unrecorded → failed, outcome unknown (never resent);
    queued whose task was lost → published again. Returns how many of each."""
    from .enqueue import messages_enqueue_sending
    from .sending import OUTCOME_UNKNOWN as UNKNOWN_ERROR

    params = {
        "lease": timedelta(seconds=settings.MESSAGING_SEND_LEASE),
        "unknown_after": send_unknown_after(),
        "rescue": timedelta(seconds=settings.MESSAGING_QUEUED_RESCUE),
        "error": UNKNOWN_ERROR,
    }
    counts = {}
    for name, kind in (
        ("requeued", NOT_HANDED_OVER),
        ("unknown", OUTCOME_UNKNOWN),
        ("republished", QUEUED_LOST),
    ):
        found = _recover(kind, params)
        counts[name] = sum(len(ids) for ids in found.values())
        if kind is not OUTCOME_UNKNOWN:
            for workspace_id, ids in found.items():
                messages_enqueue_sending(workspace_id=workspace_id, message_ids=ids)
    return counts
