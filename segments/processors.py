"""Real-time membership: the `segments` processor of the events_ingested pipeline.

For each contact in the batch we know what happened to it — event names, changed fields,
segments it entered or left. A dynamic segment is re-evaluated only for the contacts whose
changes meet its dependency index (dep_event_names, dep_fields, dep_segment_ids). Entering
or leaving a segment is itself a change: segments that reference it (or listen to
segment.entered/exited) are re-evaluated in a next wave, until nothing moves. Cycles are
refused at save time, so the waves end; MAX_WAVES is a belt on top of those braces.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from contacts.hooks import ORDER_SEGMENTS, IngestedBatch, on_events_ingested
from contacts.models import Contact, Event
from predictions.hooks import PredictionsScored, on_predictions_scored
from workspaces.errors import ValidationFailed
from workspaces.models import Workspace

from .filters import compile_filter_sql, parse_filter
from .filters.clock import make_clock
from .filters.nodes import Node
from .filters.python import Evaluator
from .membership import Applied, ids_source, membership_apply, segment_lock
from .models import ChangeReason, Segment, SegmentMembership
from .services import segment_count_adjust, segment_order, segment_recompute_request

logger = logging.getLogger(__name__)

MAX_WAVES = 10
# Up to this many contacts, evaluate in Python (profile conditions cost no query);
# above it, one compiled query per segment restricted to the contacts is cheaper.
PYTHON_EVALUATION_MAX = 3
EVERYTHING = {"created", "merged"}  # a new or merged profile: every segment may change
# Platform events that stand for a field change, when the emitter did not mark it.
FIELD_EVENTS = {"score.changed": "score", "lifecycle.changed": "lifecycle_stage"}
MEMBERSHIP_EVENTS = {"segment.entered", "segment.exited"}


@dataclass
class Touch:
    events: set[str] = field(default_factory=set)
    fields: set[str] = field(default_factory=set)
    segments: set[int] = field(default_factory=set)
    everything: bool = False


def touches_from_batch(batch: IngestedBatch) -> dict[int, Touch]:
    touches: dict[int, Touch] = defaultdict(Touch)
    for event in batch.events:
        touch = touches[event.contact_id]
        touch.events.add(event.name)
        if event.name in FIELD_EVENTS:
            touch.fields.add(FIELD_EVENTS[event.name])
        if event.name in MEMBERSHIP_EVENTS and isinstance(event.properties, dict):
            segment_id = event.properties.get("segment_id")
            if isinstance(segment_id, int):
                touch.segments.add(segment_id)
        if event.source != "platform":
            touch.fields |= {"last_seen_at", "updated_at"}
    for contact_id, names in batch.changed_fields.items():
        touch = touches[contact_id]
        for name in names:
            touch.everything |= name in EVERYTHING
            touch.fields.add(name.removeprefix("attributes.").removeprefix("traits."))
        touch.fields.add("updated_at")
    return dict(touches)


def affected(segment: Segment, touch: Touch) -> bool:
    return (
        touch.everything
        or bool(touch.events.intersection(segment.dep_event_names))
        or bool(touch.fields.intersection(segment.dep_fields))
        or bool(touch.segments.intersection(segment.dep_segment_ids))
    )


def plan(segments: list[Segment], touches: dict[int, Touch]) -> list[tuple[Segment, list[int]]]:
    """(segment, contacts to re-evaluate), referenced segments before those referencing them."""
    work = []
    for segment in segment_order(segments):
        contact_ids = sorted(cid for cid, touch in touches.items() if affected(segment, touch))
        if contact_ids:
            work.append((segment, contact_ids))
    return work


class BatchRefresher:
    def __init__(self, *, workspace: Workspace, now: datetime | None = None):
        self.workspace = workspace
        self.now = now or timezone.now()
        self.clock = make_clock(workspace, self.now)
        self.segments = list(
            Segment.objects.for_workspace(workspace).filter(kind=Segment.Kind.DYNAMIC)
        )
        self._nodes: dict[int, Node | None] = {}
        self.event_ids: list[int] = []

    def node(self, segment: Segment) -> Node | None:
        if segment.pk not in self._nodes:
            try:
                self._nodes[segment.pk] = parse_filter(
                    workspace=self.workspace, tree=segment.filter
                )
            except ValidationFailed as error:  # e.g. an attribute definition was removed since
                logger.warning("segment %s has an invalid filter: %s", segment.pk, error.message)
                self._nodes[segment.pk] = None
        return self._nodes[segment.pk]

    def run(self, touches: dict[int, Touch]) -> list[int]:
        for _ in range(MAX_WAVES):
            if not touches or not self.segments:
                break
            moved: dict[int, Touch] = defaultdict(Touch)
            for segment, contact_ids in plan(self.segments, touches):
                applied = self.refresh(segment, contact_ids)
                for contact_id in applied.entered + applied.exited:
                    moved[contact_id].segments.add(segment.pk)
                for contact_id in applied.entered:
                    moved[contact_id].events.add("segment.entered")
                for contact_id in applied.exited:
                    moved[contact_id].events.add("segment.exited")
            touches = dict(moved)
        return self.event_ids

    def refresh(self, segment: Segment, contact_ids: list[int]) -> Applied:
        node = self.node(segment)
        if node is None:
            return Applied()
        with transaction.atomic():
            segment_lock(segment.pk)
            matched = self.matching(segment, node, contact_ids)
            current = set(
                SegmentMembership.objects.filter(
                    workspace_id=segment.workspace_id,
                    segment_id=segment.pk,
                    contact_id__in=contact_ids,
                ).values_list("contact_id", flat=True)
            )
            entering, leaving = sorted(matched - current), sorted(current - matched)
            if not entering and not leaving:
                return Applied()
            applied = membership_apply(
                segment=segment,
                reason=ChangeReason.REALTIME,
                now=self.now,
                enter_source=ids_source(entering) if entering else None,
                exit_where=("m.contact_id = ANY(%s)", [leaving]) if leaving else None,
            )
            segment_count_adjust(segment_id=segment.pk, applied=applied)
        self.event_ids += applied.event_ids
        return applied

    def matching(self, segment: Segment, node: Node, contact_ids: list[int]) -> set[int]:
        if len(contact_ids) <= PYTHON_EVALUATION_MAX:
            contacts = Contact.objects.filter(workspace=self.workspace, pk__in=contact_ids)
            return {
                contact.pk
                for contact in contacts
                if Evaluator(
                    workspace_id=self.workspace.pk, clock=self.clock, contact=contact, root=node
                ).evaluate()
            }
        compiled = compile_filter_sql(
            workspace=self.workspace, node=node, now=self.now, mode="probe"
        )
        sql, params = compiled.select_ids(extra_where="c.id = ANY(%s)", extra_params=[contact_ids])
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return {row[0] for row in cursor.fetchall()}


def segment_membership_refresh(
    *, workspace: Workspace, touches: dict[int, Touch], now: datetime | None = None
) -> list[Event]:
    """Re-evaluate what `touches` can affect; returns the segment.entered/exited events."""
    event_ids = BatchRefresher(workspace=workspace, now=now).run(touches)
    if not event_ids:
        return []
    return list(
        Event.objects.filter(workspace=workspace, pk__in=event_ids)
        .select_related("contact")
        .order_by("timestamp", "pk")
    )


@on_events_ingested(order=ORDER_SEGMENTS, name="segments")
def segments_on_events_ingested(batch: IngestedBatch) -> Any:
    events = segment_membership_refresh(
        workspace=batch.workspace, touches=touches_from_batch(batch)
    )
    batch.add_events(events)


# --- predictions re-scored -------------------------------------------------------------------
# A model's nightly scoring changes the likelihood and tier of up to every contact at once:
# per-contact re-evaluation would be a million probes, one set-based recompute per dependent
# segment is one statement (docs/predictions.md). Its segment.entered/exited events then
# reach workflows and referencing segments through the pipeline as usual.


@on_predictions_scored(name="segments")
def segments_on_predictions_scored(scored: PredictionsScored) -> None:
    segments = Segment.objects.for_workspace(scored.workspace).filter(
        kind=Segment.Kind.DYNAMIC, dep_fields__overlap=list(scored.fields)
    )
    for segment in segment_order(list(segments)):
        segment_recompute_request(segment=segment)
