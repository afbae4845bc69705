"""analytics' rollups step of the events_ingested pipeline (contacts.hooks, order 40): the
hours a batch touches are marked dirty for the rollups to recount. (Attribution's step is
in analytics/attribution/, order 50.)"""

from __future__ import annotations

from contacts.hooks import IngestedBatch, on_events_ingested

from .rollups import dirty_hours_mark

ORDER_ROLLUPS = 40  # after scoring, segments and workflows: their events are in the batch


@on_events_ingested(order=ORDER_ROLLUPS, name="analytics.rollups")
def rollups_mark(batch: IngestedBatch) -> None:
    dirty_hours_mark(workspace=batch.workspace, timestamps=[e.timestamp for e in batch.events])
