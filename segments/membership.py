"""Applying membership changes as sets: one SQL statement per change set.

Each statement inserts/deletes SegmentMembership rows, writes the history rows and the
`segment.entered` / `segment.exited` events, all from the rows the INSERT/DELETE actually
touched (RETURNING) — so a change that did not happen (already a member, already gone)
leaves no trace, and a retried task records nothing twice. Callers hold the segment's
advisory lock (`segment_lock`) so a recompute and the real-time path never interleave.
"""

# ruff: noqa: S608, S611  # identifiers come from model metadata; every value is a parameter

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection

from contacts.services import events_insert_ctes, events_statement_execute

from .models import Segment, SegmentMembership, SegmentMembershipChange

SQL = tuple[str, list[Any]]
LOCK_CLASS = 0x5E6  # first key of pg_advisory_xact_lock(int, int): "segment membership"

MEMBERS = SegmentMembership._meta.db_table
CHANGES = SegmentMembershipChange._meta.db_table


@dataclass
class Applied:
    entered: list[int] = field(default_factory=list)  # contact ids
    exited: list[int] = field(default_factory=list)
    event_ids: list[int] = field(default_factory=list)

    def extend(self, other: Applied) -> None:
        self.entered += other.entered
        self.exited += other.exited
        self.event_ids += other.event_ids

    @property
    def changed(self) -> bool:
        return bool(self.entered or self.exited)


def segment_lock(segment_id: int) -> None:
    """Serialise membership writes of one segment until the transaction ends."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_CLASS, segment_id % 2**31])


@contextmanager
def segment_session_lock(segment_id: int) -> Iterator[None]:
    """Hold the segment's lock across several transactions (a full recompute)."""
    key = [LOCK_CLASS, segment_id % 2**31]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", key)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", key)


def membership_apply(
    *,
    segment: Segment,
    reason: str,
    now: datetime,
    enter_source: SQL | None = None,
    exit_where: SQL | None = None,
) -> Applied:
    """Add the contacts `enter_source` selects (a query with an `id` column) and remove the
    members matching `exit_where` (a predicate on alias `m`), in one statement.

    Must run inside a transaction holding the segment's lock (`segment_lock` or
    `segment_session_lock`)."""
    ws, seg = segment.workspace_id, segment.pk
    ctes: list[str] = []
    params: list[Any] = []
    sources: list[str] = []
    if enter_source is not None:
        sql, source_params = enter_source
        ctes.append(
            f"entered AS (INSERT INTO {MEMBERS} (workspace_id, segment_id, contact_id, entered_at) "
            f"SELECT %s, %s, src.id, %s FROM ({sql}) src "
            "ON CONFLICT (workspace_id, segment_id, contact_id) DO NOTHING RETURNING contact_id)"
        )
        params += [ws, seg, now, *source_params]
        sources.append("SELECT contact_id, 'entered' AS kind FROM entered")
    if exit_where is not None:
        sql, where_params = exit_where
        ctes.append(
            f"exited AS (DELETE FROM {MEMBERS} m WHERE m.workspace_id = %s AND m.segment_id = %s "
            f"AND ({sql}) RETURNING m.contact_id)"
        )
        params += [ws, seg, *where_params]
        sources.append("SELECT contact_id, 'exited' AS kind FROM exited")
    if not sources:
        return Applied()
    properties = json.dumps({"segment_id": seg, "segment_name": segment.name, "reason": reason})
    ctes.append(
        f"changes AS (INSERT INTO {CHANGES} (workspace_id, segment_id, contact_id, kind, at, reason) "
        f"SELECT %s, %s, contact_id, kind, %s, %s FROM ({' UNION ALL '.join(sources)}) moved "
        "RETURNING id, contact_id, kind)"
    )
    params += [ws, seg, now, reason]
    ctes.append(
        events_insert_ctes(
            "SELECT %s, contact_id, 'track', 'segment.' || kind, %s::jsonb, '{}'::jsonb, %s, %s,"
            " 'segment-change-' || id, 'platform' FROM changes",
            name="events",
            returning="id, contact_id, name",
        )
    )
    params += [ws, properties, now, now]
    statement = "WITH " + ", ".join(ctes) + " SELECT id, contact_id, name FROM events"
    applied = Applied()
    for event_id, contact_id, name in events_statement_execute(statement, params):
        applied.event_ids.append(event_id)
        (applied.entered if name == "segment.entered" else applied.exited).append(contact_id)
    return applied


def ids_source(contact_ids: list[int]) -> SQL:
    return "SELECT unnest(%s::bigint[]) AS id", [list(contact_ids)]
