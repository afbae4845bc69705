"""The `events_ingested` hook: how scoring, segments and workflows learn about new events.

Contacts never imports those apps. Each registers a processor in its AppConfig.ready():

    from contacts.hooks import on_events_ingested

    @on_events_ingested(order=20, name="segments")
    def refresh_segments(batch: IngestedBatch) -> None: ...

After an ingestion transaction commits, ONE Celery task per request
(`contacts.tasks.process_events`) builds an IngestedBatch and runs the processors in
`order`: scoring (10) → segments (20) → workflows (30). A processor that records new
events (score.changed, segment.entered …) adds them with `batch.add_events(...)`, so later
processors in the same pass see them — "score ≥ 80" can move a segment, and entering the
segment can start a workflow, in one task.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workspaces.models import Workspace

    from .models import Event

logger = logging.getLogger(__name__)

ORDER_SCORING = 10
ORDER_SEGMENTS = 20
ORDER_WORKFLOWS = 30


@dataclass
class IngestedBatch:
    workspace: Workspace
    events: list[Event] = field(default_factory=list)
    # Contacts whose profile changed (identify traits, API edits, imports), with the
    # contact-field / attribute names that changed: segments re-evaluate only what depends on them.
    changed_fields: dict[int, set[str]] = field(default_factory=dict)

    @property
    def contact_ids(self) -> set[int]:
        return {event.contact_id for event in self.events} | set(self.changed_fields)

    def add_events(self, events: Iterable[Event]) -> None:
        self.events.extend(events)

    def mark_changed(self, contact_id: int, fields: Iterable[str]) -> None:
        self.changed_fields.setdefault(contact_id, set()).update(fields)


Processor = Callable[[IngestedBatch], None]
_processors: list[tuple[int, str, Processor]] = []


def on_events_ingested(*, order: int, name: str) -> Callable[[Processor], Processor]:
    def register(func: Processor) -> Processor:
        if any(existing == name for _, existing, _ in _processors):
            return func  # app reloaded (tests, autoreload): keep the first registration
        _processors.append((order, name, func))
        _processors.sort(key=lambda item: item[0])
        return func

    return register


def registered_processors() -> list[str]:
    return [name for _, name, _ in _processors]


def events_ingested(batch: IngestedBatch) -> None:
    """Run every processor on the batch, in order. A failing processor is logged and re-raised
    so the task retries; processors must therefore be idempotent."""
    for _, name, func in list(_processors):
        try:
            func(batch)
        except Exception:
            logger.exception(
                "events_ingested processor %s failed for workspace %s", name, batch.workspace.pk
            )
            raise
