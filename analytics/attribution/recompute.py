"""Recomputing every conversion's credit when the attribution settings change.

The new settings wait in AttributionConfig.pending as the next *generation*. A Celery task
(`analytics.attribution_recompute`) credits the workspace's conversions under them in
batches of BATCH conversions, each batch one transaction that also advances the cursor and
the progress (so a restarted or repeated task resumes after the last committed batch, and a
batch credited twice is replaced, not doubled). Meanwhile:

- the report reads the current generation only, so it shows the old figures — complete —
  and says a recompute is under way, with its progress;
- the pipeline credits new conversions (and conversions a late touch came before) for both
  generations, each with its own settings (processing.py), so nothing that arrives during
  the recompute is missed whether or not the scan has passed it;
- settings saved again supersede it: the running task sees another generation pending and
  stops; the new one starts over.

When the scan is through, one UPDATE makes the pending settings and their generation the
current ones: the report switches from the old figures to the new in one step. Rows of
older generations are then deleted in chunks.

The scan reads each conversion event name in turn through event_ws_name_ts (workspace,
name, timestamp) in (timestamp, id) order: conversions are a small share of the events,
and the index finds them without reading the others.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from analytics.models import AttributedConversion, AttributionConfig
from contacts.models import Event
from workspaces.models import Workspace

from .config import Settings, state_of
from .processing import contacts_lock, conversions_credit

logger = logging.getLogger(__name__)

BATCH = 500  # conversions credited per transaction
CLEANUP_CHUNK = 5000  # old rows deleted per statement
Status = AttributionConfig.Status


def attribution_recompute_run(
    *, workspace: Workspace, generation: int, batch_size: int = BATCH
) -> bool:
    """Credit every conversion for `generation`, batch by batch, then make it current.
    Returns False when there was nothing to do (no such generation pending: done already,
    superseded or cancelled)."""
    try:
        if not _begin(workspace, generation):
            return False
        while True:
            more = _batch(workspace, generation, batch_size)
            if more is None:
                return False  # superseded or cancelled between two batches
            if not more:
                break
        switched = _switch(workspace, generation)
    except Exception as error:
        logger.exception("attribution recompute of workspace %s failed", workspace.pk)
        AttributionConfig.objects.filter(
            workspace=workspace, pending__generation=generation
        ).update(recompute_status=Status.FAILED, recompute_error=str(error)[:2000])
        raise
    if switched:
        _clean_up(workspace)
    return switched


def _claim(workspace: Workspace, generation: int) -> AttributionConfig | None:
    """The config row, locked, if `generation` is still the one pending."""
    row = AttributionConfig.objects.select_for_update().filter(workspace=workspace).first()
    if row is None or not isinstance(row.pending, dict):
        return None
    return row if row.pending.get("generation") == generation else None


@transaction.atomic
def _begin(workspace: Workspace, generation: int) -> bool:
    row = _claim(workspace, generation)
    if row is None:
        return False
    if row.recompute_status != Status.RUNNING or not row.recompute_total:
        pending = state_of(row).pending
        assert pending is not None
        row.recompute_total = Event.objects.filter(
            workspace=workspace, name__in=pending.conversion_events
        ).count()
    row.recompute_status = Status.RUNNING
    row.recompute_error = ""
    row.save(update_fields=["recompute_status", "recompute_total", "recompute_error", "updated_at"])
    return True


@transaction.atomic
def _batch(workspace: Workspace, generation: int, batch_size: int) -> bool | None:
    """Credit the next batch; True while there is more, False when the scan is through,
    None when `generation` is no longer pending."""
    row = _claim(workspace, generation)
    if row is None:
        return None
    settings = state_of(row).pending
    assert settings is not None
    names = sorted(settings.conversion_events)
    cursor = dict(row.recompute_cursor or {})
    index = int(cursor.get("name", 0))
    if index >= len(names):
        return False
    conversions = _next_conversions(workspace, names[index], cursor, batch_size)
    if conversions:
        contacts_lock(event.contact_id for event in conversions)
        conversions_credit(
            workspace=workspace, conversions=conversions, settings=settings, generation=generation
        )
        last = conversions[-1]
        cursor.update(at=last.timestamp.isoformat(), id=last.pk)
    if len(conversions) < batch_size:  # this name is through: the next one from its start
        cursor = {"name": index + 1}
    row.recompute_cursor = cursor
    row.recompute_done += len(conversions)
    row.save(update_fields=["recompute_cursor", "recompute_done", "updated_at"])
    return True


def _next_conversions(
    workspace: Workspace, name: str, cursor: dict[str, Any], batch_size: int
) -> list[Event]:
    events = Event.objects.filter(workspace=workspace, name=name)
    at: datetime | None = parse_datetime(cursor["at"]) if cursor.get("at") else None
    if at is not None:
        after = int(cursor.get("id", 0))
        # timestamp >= at bounds the index range; the OR only breaks ties at `at`
        events = events.filter(timestamp__gte=at).filter(
            Q(timestamp__gt=at) | Q(timestamp=at, pk__gt=after)
        )
    return list(events.defer("context").order_by("timestamp", "pk")[:batch_size])


@transaction.atomic
def _switch(workspace: Workspace, generation: int) -> bool:
    """The pending settings and their rows become the current ones, in one UPDATE."""
    row = _claim(workspace, generation)
    if row is None:
        return False
    settings: Settings | None = state_of(row).pending
    assert settings is not None
    row.conversion_events = settings.conversion_events
    row.click_window_days = settings.click_window_days
    row.open_window_days = settings.open_window_days
    row.generation = generation
    row.pending = None
    row.recompute_status = Status.IDLE
    row.recompute_cursor = {}
    row.recomputed_at = timezone.now()
    row.save()
    return True


def _clean_up(workspace: Workspace) -> int:
    """Delete the rows of every generation but the current and the pending one, in chunks
    (each its own statement: a large workspace's old rows never sit in one transaction)."""
    state = state_of(AttributionConfig.objects.filter(workspace=workspace).first())
    keep = {state.generation, state.pending_generation or state.generation}
    table = AttributedConversion._meta.db_table
    deleted = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} "  # noqa: S608
                "WHERE workspace_id = %s AND generation <> ALL(%s) LIMIT %s)",
                [workspace.pk, sorted(keep), CLEANUP_CHUNK],
            )
            count = cursor.rowcount
        deleted += count
        if count < CLEANUP_CHUNK:
            return deleted
