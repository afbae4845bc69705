"""Writes for segments: definitions, recomputes, static lists.

segment_create / segment_update / segment_delete
segment_recompute_request(segment=…)    queue a full recompute (after commit)
segment_recompute(segment=…)            the full recompute itself: set-based, in chunks
static_list_add / static_list_remove    hand-kept lists (UI, import, API, workflows)
"""

# ruff: noqa: S608, S611  # identifiers come from model metadata; every value is a parameter

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.utils import timezone

from contacts.models import Contact
from contacts.services import events_enqueue_processing
from workspaces.errors import ValidationFailed
from workspaces.models import User, Workspace

from .filters import compile_filter_sql, filter_dependencies, parse_filter
from .filters.clock import make_clock
from .membership import (
    Applied,
    ids_source,
    membership_apply,
    segment_lock,
    segment_session_lock,
)
from .models import ChangeReason, Segment, SegmentMembership, SegmentSizeSnapshot

logger = logging.getLogger(__name__)

RECOMPUTE_CHUNK = 200_000  # contacts per transaction: bounds lock time, gives progress
NOTIFY_BATCH = 1_000  # segment.entered/exited events per events_ingested task
STATIC_SOURCES = {
    ChangeReason.MANUAL,
    ChangeReason.IMPORT,
    ChangeReason.API,
    ChangeReason.WORKFLOW,
}


# --- definitions -------------------------------------------------------------------------


def _clean_name(*, workspace: Workspace, name: str, exclude_id: int | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("name: give the segment a name", fields={"name": "required"})
    if len(name) > 150:
        raise ValidationFailed("name: at most 150 characters", fields={"name": "too long"})
    taken = Segment.objects.for_workspace(workspace).filter(name__iexact=name)
    if exclude_id:
        taken = taken.exclude(pk=exclude_id)
    if taken.exists():
        message = f"a segment named '{name}' already exists"
        raise ValidationFailed(f"name: {message}", fields={"name": message})
    return name


def _apply_filter(segment: Segment, tree: Any) -> None:
    """Validate `tree` for this segment and store it with its dependency index."""
    if tree is None or tree == {}:
        tree = {"all": []}
    parse_filter(workspace=segment.workspace, tree=tree, segment_id=segment.pk)
    deps = filter_dependencies(tree)
    segment.filter = tree
    segment.dep_event_names = sorted(deps.event_names)
    segment.dep_fields = sorted(deps.fields)
    segment.dep_segment_ids = sorted(deps.segment_ids)
    segment.drifts = deps.drifts


@transaction.atomic
def segment_create(
    *,
    workspace: Workspace,
    name: str,
    kind: str = Segment.Kind.DYNAMIC,
    filter: Any = None,
    description: str = "",
    created_by: User | None = None,
) -> Segment:
    if kind not in Segment.Kind.values:
        raise ValidationFailed("kind: use 'dynamic' or 'static'", fields={"kind": "invalid"})
    segment = Segment(
        workspace=workspace,
        name=_clean_name(workspace=workspace, name=name),
        kind=kind,
        description=description or "",
        created_by=created_by,
    )
    if kind == Segment.Kind.DYNAMIC:
        _apply_filter(segment, filter)
    elif filter not in (None, {}, {"all": []}):
        raise ValidationFailed(
            "filter: a static list has no filter", fields={"filter": "static lists have none"}
        )
    segment.save()
    if segment.kind == Segment.Kind.DYNAMIC:
        segment_recompute_request(segment=segment)
    return segment


@transaction.atomic
def segment_update(
    *,
    segment: Segment,
    name: str | None = None,
    description: str | None = None,
    filter: Any = None,
) -> Segment:
    if name is not None:
        segment.name = _clean_name(workspace=segment.workspace, name=name, exclude_id=segment.pk)
    if description is not None:
        segment.description = description
    filter_changed = False
    if filter is not None:
        if segment.is_static:
            raise ValidationFailed(
                "filter: a static list has no filter", fields={"filter": "static lists have none"}
            )
        filter_changed = filter != segment.filter
        _apply_filter(segment, filter)
    if filter_changed:
        segment.filter_version = F("filter_version") + 1
    segment.save()
    segment.refresh_from_db()
    if filter_changed:
        segment_recompute_request(segment=segment)
    return segment


@transaction.atomic
def segment_delete(*, segment: Segment) -> None:
    referencing = Segment.objects.for_workspace(segment.workspace_id).filter(
        dep_segment_ids__contains=[segment.pk]
    )
    names = ", ".join(f"'{s.name}'" for s in referencing[:5])
    if names:
        raise ValidationFailed(
            f"segment: still used by {names}; remove those conditions first",
            fields={"segment": "in use"},
        )
    segment.delete()


# --- recompute -----------------------------------------------------------------------------


def segment_recompute_request(*, segment: Segment) -> None:
    """Mark the segment queued and start its recompute once the current transaction commits."""
    from .tasks import segment_recompute_task

    Segment.objects.filter(pk=segment.pk).update(
        recompute_status=Segment.Status.QUEUED, recompute_progress=0, recompute_error=""
    )
    segment.recompute_status, segment.recompute_progress = Segment.Status.QUEUED, 0
    workspace_id, segment_id = segment.workspace_id, segment.pk
    version = Segment.objects.values_list("filter_version", flat=True).get(pk=segment_id)
    transaction.on_commit(lambda: segment_recompute_task.delay(workspace_id, segment_id, version))


def _contact_id_chunks(workspace_id: int, size: int) -> list[tuple[int, int]]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT min(id), max(id), count(*) FROM {Contact._meta.db_table} "
            "WHERE workspace_id = %s",
            [workspace_id],
        )
        low, high, count = cursor.fetchone()
    if not count:
        return []
    parts = max(1, math.ceil(count / size))
    step = math.ceil((high - low + 1) / parts)
    return [(start, min(start + step - 1, high)) for start in range(low, high + 1, step)]


def segment_recompute(
    *,
    segment: Segment,
    filter_version: int | None = None,
    now: datetime | None = None,
    notify: bool = True,
    chunk_size: int = RECOMPUTE_CHUNK,
) -> Applied | None:
    """Bring a dynamic segment's membership in line with its filter, set-based.

    1. The compiled filter runs ONCE over the workspace into a temporary table of ids.
    2. Per chunk of contact ids (its own short transaction, for progress):
       `INSERT … SELECT … ON CONFLICT DO NOTHING` adds the new members and
       `DELETE … WHERE NOT EXISTS (matched)` removes the leavers; history rows and
       segment.entered/exited events come from their RETURNING.
    A session-level advisory lock holds off the real-time path for this segment meanwhile
    (it waits, then re-evaluates against the result). Returns None when a newer filter
    version superseded this run."""
    now = now or timezone.now()
    if segment.is_static:
        _finish(segment, now)
        return Applied()
    node = parse_filter(workspace=segment.workspace, tree=segment.filter)
    Segment.objects.filter(pk=segment.pk).update(
        recompute_status=Segment.Status.RUNNING, recompute_progress=0, recompute_error=""
    )
    table = f"segments_matched_{int(segment.pk)}"
    try:
        with segment_session_lock(segment.pk):
            if _superseded(segment, filter_version):
                return None
            _match_into(table, segment, node, now)
            Segment.objects.filter(pk=segment.pk).update(recompute_progress=50)
            total = _apply_matched(segment, table, now, notify, chunk_size, filter_version)
    except Exception as error:
        Segment.objects.filter(pk=segment.pk).update(
            recompute_status=Segment.Status.FAILED, recompute_error=str(error)[:2000]
        )
        raise
    finally:
        _drop_quietly(table)
    if total is None:
        return None
    _finish(segment, now)
    return total


def _drop_quietly(table: str) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{table}")
    except DatabaseError:  # an aborted outer transaction: the table goes with the session
        logger.warning("could not drop %s", table)


def _superseded(segment: Segment, filter_version: int | None) -> bool:
    if filter_version is None:
        return False
    current = Segment.objects.filter(pk=segment.pk).values_list("filter_version", flat=True)
    return current.first() != filter_version


def _match_into(table: str, segment: Segment, node: Any, now: datetime) -> None:
    """Materialise the ids matching `node` (one query over the whole workspace)."""
    compiled = compile_filter_sql(workspace=segment.workspace, node=node, now=now, mode="set")
    sql, params = compiled.select_ids()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{table}")
        cursor.execute(f"CREATE TEMPORARY TABLE {table} (id bigint PRIMARY KEY)")
        cursor.execute(f"INSERT INTO {table} (id) {sql}", params)
        cursor.execute(f"ANALYZE {table}")


def _apply_matched(
    segment: Segment,
    table: str,
    now: datetime,
    notify: bool,
    chunk_size: int,
    filter_version: int | None,
) -> Applied | None:
    total = Applied()
    chunks = _contact_id_chunks(segment.workspace_id, chunk_size) or [(0, 0)]
    for index, (low, high) in enumerate(chunks, start=1):
        with transaction.atomic():
            if _superseded(segment, filter_version):
                return None
            applied = membership_apply(
                segment=segment,
                reason=ChangeReason.RECOMPUTE,
                now=now,
                enter_source=(f"SELECT id FROM {table} WHERE id BETWEEN %s AND %s", [low, high]),
                exit_where=(
                    f"m.contact_id BETWEEN %s AND %s AND NOT EXISTS "
                    f"(SELECT 1 FROM {table} x WHERE x.id = m.contact_id)",
                    [low, high],
                ),
            )
            if notify:
                _notify(segment.workspace, applied.event_ids)
            Segment.objects.filter(pk=segment.pk).update(
                recompute_progress=min(99, 50 + math.floor(50 * index / len(chunks)))
            )
        total.extend(applied)
    return total


def _finish(segment: Segment, now: datetime) -> None:
    size = SegmentMembership.objects.filter(
        workspace_id=segment.workspace_id, segment_id=segment.pk
    ).count()
    Segment.objects.filter(pk=segment.pk).update(
        member_count=size,
        last_recomputed_at=now,
        recompute_status=Segment.Status.IDLE,
        recompute_progress=100,
    )
    segment.member_count = size
    segment_snapshot(segment=segment, size=size)


def _notify(workspace: Workspace, event_ids: list[int]) -> None:
    """Send membership events through the pipeline (workflows, dependent segments)."""
    for start in range(0, len(event_ids), NOTIFY_BATCH):
        events_enqueue_processing(
            workspace=workspace, event_ids=event_ids[start : start + NOTIFY_BATCH]
        )


def segment_snapshot(*, segment: Segment, size: int | None = None) -> None:
    """Record today's size (one row per segment and day; the last write of the day wins)."""
    if size is None:
        size = Segment.objects.values_list("member_count", flat=True).get(pk=segment.pk)
    day = make_clock(segment.workspace).today
    SegmentSizeSnapshot.objects.update_or_create(
        workspace_id=segment.workspace_id, segment_id=segment.pk, day=day, defaults={"size": size}
    )


def segment_count_adjust(*, segment_id: int, applied: Applied) -> None:
    delta = len(applied.entered) - len(applied.exited)
    if delta:
        Segment.objects.filter(pk=segment_id).update(member_count=F("member_count") + delta)


# --- static lists ------------------------------------------------------------------------------


def _static_change(
    *, segment: Segment, contact_ids: Iterable[int], source: str, add: bool
) -> Applied:
    if not segment.is_static:
        raise ValidationFailed(
            "segment: members of a dynamic segment follow its filter; use a static list",
            fields={"segment": "not a static list"},
        )
    if source not in STATIC_SOURCES:
        raise ValidationFailed(f"source: unknown source '{source}'", fields={"source": "invalid"})
    ids = sorted({int(i) for i in contact_ids})
    if not ids:
        return Applied()
    now = timezone.now()
    with transaction.atomic():
        segment_lock(segment.pk)
        if add:
            # Only this workspace's contacts: ids from elsewhere are silently not members.
            source_sql = (
                f"SELECT c.id FROM {Contact._meta.db_table} c "
                "WHERE c.workspace_id = %s AND c.id = ANY(%s)",
                [segment.workspace_id, ids],
            )
            applied = membership_apply(
                segment=segment, reason=source, now=now, enter_source=source_sql
            )
        else:
            applied = membership_apply(
                segment=segment,
                reason=source,
                now=now,
                exit_where=("m.contact_id = ANY(%s)", [ids]),
            )
        segment_count_adjust(segment_id=segment.pk, applied=applied)
        _notify(segment.workspace, applied.event_ids)
    return applied


def static_list_add(*, segment: Segment, contact_ids: Iterable[int], source: str) -> Applied:
    """Add contacts to a static list (source: manual, import, api, workflow). Idempotent."""
    return _static_change(segment=segment, contact_ids=contact_ids, source=source, add=True)


def static_list_remove(*, segment: Segment, contact_ids: Iterable[int], source: str) -> Applied:
    return _static_change(segment=segment, contact_ids=contact_ids, source=source, add=False)


__all__ = [
    "ids_source",
    "segment_count_adjust",
    "segment_create",
    "segment_delete",
    "segment_recompute",
    "segment_recompute_request",
    "segment_snapshot",
    "segment_update",
    "static_list_add",
    "static_list_remove",
]


def segment_order(segments: list[Segment]) -> list[Segment]:
    """Referenced segments before the segments that reference them (the recompute's order and
    the real-time waves')."""
    return sorted(segments, key=lambda s: _depth(s, segments))


# Segments reference each other at most this deep when ordering (cycles are refused at save
# time; this is a belt on top of those braces, as processors' MAX_WAVES).
MAX_REFERENCE_DEPTH = 10


def _depth(segment: Segment, segments: list[Segment]) -> int:
    by_id = {s.pk: s for s in segments}
    depth, frontier, seen = 0, set(segment.dep_segment_ids), set()
    while frontier and depth < MAX_REFERENCE_DEPTH:
        depth += 1
        seen |= frontier
        frontier = {
            d for sid in frontier if sid in by_id for d in by_id[sid].dep_segment_ids
        } - seen
    return depth


def segments_recompute_drifting(*, workspace: Workspace) -> list[int]:
    """Recompute the segments whose answer changes with the clock alone (relative dates,
    event windows), referenced ones first, and record today's size of every segment.

    Segments that merely reference a drifting one follow through the pipeline: the
    recompute's segment.entered/exited events re-evaluate them in real time."""
    segments = list(Segment.objects.for_workspace(workspace))
    done = []
    for segment in segment_order(segments):
        if segment.drifts and segment.kind == Segment.Kind.DYNAMIC and not segment.is_computing:
            segment_recompute(segment=segment)
            done.append(segment.pk)
        else:
            segment_snapshot(segment=segment, size=segment.member_count)
    return done
