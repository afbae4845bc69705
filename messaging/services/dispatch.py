"""The scheduler tick: messages whose `send_after` has come are queued again, due broadcasts
start, finished A/B tests pick their winner, and messages stuck in 'sending' are closed.

Waits are rows, never Celery countdowns: a quiet-hours deferral, a retry backoff, a
scheduled broadcast and a send-time-optimised delivery are all `send_after` on a row.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from ..models import Message, MessageStatus, MessagingSettings

DISPATCH_LIMIT = 20_000
STALE_SENDING = timedelta(minutes=15)


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


def messages_close_stale() -> int:
    """Messages left in 'sending' by a worker that died mid-call: the provider may or may not
    have them, so they are marked failed rather than risk a duplicate."""
    cutoff = timezone.now() - STALE_SENDING
    return Message.objects.filter(status=MessageStatus.SENDING, updated_at__lt=cutoff).update(
        status=MessageStatus.FAILED,
        error="interrupted while sending; not retried to avoid a duplicate",
    )
