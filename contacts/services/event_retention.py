"""Retention of raw events, per workspace, without a table-wide DELETE (docs/events.md).

A workspace keeps its events EVENTS_RETENTION_MONTHS (13) months unless it set its own
(`EventRetention.months`; null keeps them forever). Rollups (analytics) are never touched.
Old events leave in one of two ways, each bounded:

1. a whole monthly partition is detached and dropped once no workspace needs it: it is
   older than the default retention, and no workspace that keeps events longer has a row
   in it (one index probe per such workspace) — metadata only, however many rows;
2. otherwise (a workspace keeping less than the default, or the partition still held by a
   longer-keeping workspace, or a table not partitioned yet) in batches: one workspace at a
   time, EVENTS_RETENTION_BATCH rows per statement and transaction, the statement naming
   the workspace and the time bound (so it reads only the old partitions), until a time
   budget is spent — the caller runs it again for the rest.

`event_messages_prune` forgets messageIds older than EVENTS_DEDUPE_DAYS the same way.
"""

# ruff: noqa: S608  # identifiers are the table's own names (catalog or model metadata)

from __future__ import annotations

import calendar
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from contacts.models import Event, EventMessage, EventRetention
from contacts.services.event_partitions import Partition, event_partitions, table_partitioned
from workspaces.errors import ValidationFailed
from workspaces.models import Workspace

EVENT_TABLE = Event._meta.db_table
MESSAGE_TABLE = EventMessage._meta.db_table
MAX_MONTHS = 1200


@contextmanager
def as_owner() -> Iterator[None]:
    """Partitions are DDL, which only the schema's owner may do: run as the login role (not
    the application role of Row Level Security; workspaces.db)."""
    owner_role = getattr(connection, "owner_role", None)
    with owner_role() if owner_role is not None else nullcontext():
        yield


def months_before(moment: datetime, months: int) -> datetime:
    """`moment` minus whole calendar months (the 31st becomes the month's last day)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


@dataclass(frozen=True)
class Cutoffs:
    """Events before a workspace's cutoff leave; None: kept forever."""

    default: datetime | None
    workspaces: dict[int, datetime | None]  # the workspaces with a setting of their own

    def of(self, workspace_id: int) -> datetime | None:
        return self.workspaces.get(workspace_id, self.default)


def retention_cutoffs(*, now: datetime) -> Cutoffs:
    months = settings.EVENTS_RETENTION_MONTHS
    own = {
        workspace_id: None if value is None else months_before(now, value)
        for workspace_id, value in EventRetention.objects.values_list("workspace_id", "months")
    }
    return Cutoffs(months_before(now, months) if months else None, own)


def event_retention_months(*, workspace: Workspace) -> int | None:
    """The months this workspace keeps raw events (None: forever)."""
    row = EventRetention.objects.for_workspace(workspace).first()
    if row is None:
        return settings.EVENTS_RETENTION_MONTHS or None
    return row.months


@transaction.atomic
def event_retention_set(*, workspace: Workspace, months: int | None) -> EventRetention:
    """Keep this workspace's raw events `months` months (None: forever)."""
    if months is not None and (not isinstance(months, int) or not 1 <= months <= MAX_MONTHS):
        raise ValidationFailed(
            f"months: a whole number from 1 to {MAX_MONTHS}, or none to keep events forever",
            fields={"months": f"a whole number from 1 to {MAX_MONTHS}"},
        )
    row, _ = EventRetention.objects.for_workspace(workspace).update_or_create(
        workspace=workspace, defaults={"months": months}
    )
    return row


@transaction.atomic
def event_retention_clear(*, workspace: Workspace) -> None:
    """Back to the default (EVENTS_RETENTION_MONTHS)."""
    EventRetention.objects.for_workspace(workspace).delete()


@dataclass
class RetentionResult:
    dropped: list[str] = field(default_factory=list)  # partitions
    deleted: int = 0  # rows deleted in batches
    remaining: bool = False  # the time budget ran out with work left


def events_retention_apply(
    *, now: datetime | None = None, budget_seconds: float = 40.0, batch: int | None = None
) -> RetentionResult:
    """Drop the partitions no workspace needs, then delete what else is past each
    workspace's retention in bounded batches, until done or `budget_seconds` is spent."""
    now = now or timezone.now()
    deadline = time.monotonic() + budget_seconds
    batch = batch or settings.EVENTS_RETENTION_BATCH
    cutoffs = retention_cutoffs(now=now)
    result = RetentionResult()
    with as_owner():
        result.dropped = _partitions_drop(cutoffs)
        for workspace_id in Workspace.objects.order_by("pk").values_list("pk", flat=True):
            cutoff = cutoffs.of(workspace_id)
            if cutoff is None:
                continue
            while True:
                if time.monotonic() > deadline:
                    result.remaining = True
                    return result
                deleted = _batch_delete(workspace_id, cutoff, batch)
                result.deleted += deleted
                if deleted < batch:
                    break
    return result


def _partitions_drop(cutoffs: Cutoffs) -> list[str]:
    dropped: list[str] = []
    with connection.cursor() as cursor:
        if not table_partitioned(cursor):
            return dropped
        for partition in event_partitions(cursor):
            if _droppable(cursor, partition, cutoffs) and _detach_and_drop(cursor, partition):
                dropped.append(partition.name)
    return dropped


def _droppable(cursor: Any, partition: Partition, cutoffs: Cutoffs) -> bool:
    """Every row is past the default retention, and no workspace keeping events longer
    (or forever) has one here. (Workspaces keeping them shorter never hold a partition.)"""
    if partition.default or partition.upper is None or cutoffs.default is None:
        return False
    if partition.upper > cutoffs.default:
        return False
    for workspace_id, cutoff in cutoffs.workspaces.items():
        if cutoff is not None and cutoff >= partition.upper:
            continue  # this workspace lets the whole partition go too
        cursor.execute(
            f'SELECT EXISTS (SELECT 1 FROM "{partition.name}" WHERE workspace_id = %s)',
            [workspace_id],
        )
        if cursor.fetchone()[0]:
            return False
    return True


def _detach_and_drop(cursor: Any, partition: Partition, attempts: int = 3) -> bool:
    """Detaching takes an exclusive lock on the event table for an instant: wait for it at
    most a second (queries queue behind a waiting lock), a few times; else the next run."""
    for _attempt in range(attempts):
        try:
            with transaction.atomic():
                cursor.execute("SET LOCAL lock_timeout = '1s'")
                cursor.execute(f'ALTER TABLE {EVENT_TABLE} DETACH PARTITION "{partition.name}"')
                cursor.execute(f'DROP TABLE "{partition.name}"')
            return True
        except OperationalError:
            continue
    return False


def _batch_delete(workspace_id: int, cutoff: datetime, batch: int) -> int:
    """Delete up to `batch` of one workspace's events older than `cutoff`, in one statement
    (its own transaction). The time bound prunes it to the old partitions."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f'DELETE FROM {EVENT_TABLE} WHERE workspace_id = %s AND "timestamp" < %s '
            f'AND (id, "timestamp") IN (SELECT id, "timestamp" FROM {EVENT_TABLE} '
            'WHERE workspace_id = %s AND "timestamp" < %s LIMIT %s)',
            [workspace_id, cutoff, workspace_id, cutoff, batch],
        )
        return int(cursor.rowcount)


def event_messages_prune(
    *, now: datetime | None = None, budget_seconds: float = 40.0, batch: int = 10_000
) -> tuple[int, bool]:
    """Forget messageIds received more than EVENTS_DEDUPE_DAYS ago, `batch` per statement;
    (rows deleted, whether some are left for the next run)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.EVENTS_DEDUPE_DAYS)
    deadline = time.monotonic() + budget_seconds
    deleted = 0
    with as_owner(), connection.cursor() as cursor:
        while True:
            if time.monotonic() > deadline:
                return deleted, True
            with transaction.atomic():
                cursor.execute(
                    f"DELETE FROM {MESSAGE_TABLE} WHERE ctid = ANY(ARRAY("
                    f"SELECT ctid FROM {MESSAGE_TABLE} WHERE received_at < %s LIMIT %s))",
                    [cutoff, batch],
                )
                count = int(cursor.rowcount)
            deleted += count
            if count < batch:
                return deleted, False
