"""analytics' processors on the events_ingested pipeline (contacts.hooks), and what it
provides to the apps below it through their hooks (workflows.hooks)."""

from __future__ import annotations

from contacts.hooks import IngestedBatch, on_events_ingested
from workflows.hooks import on_event_counts

from .rollups import dirty_hours_mark
from .selectors import event_counts_since

ORDER_ROLLUPS = 40  # after scoring, segments and workflows: their events are in the batch


@on_events_ingested(order=ORDER_ROLLUPS, name="analytics.rollups")
def rollups_mark(batch: IngestedBatch) -> None:
    dirty_hours_mark(workspace=batch.workspace, timestamps=[e.timestamp for e in batch.events])


# The workflow builder's event picker shows how often each event was seen (from the rollups).
on_event_counts(event_counts_since)
