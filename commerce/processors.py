"""commerce's step of the events_ingested pipeline (contacts.hooks, order 5: before scoring,
segments and workflows, so a changed `predicted_reorder_at` moves segments in the same pass).

For a batch with e-commerce events: upsert the products they describe, count views, adds and
purchases, store the order lines, then for contacts who bought something forget their stored
recommendations (computed again on read until the next run) and predict their reorder dates.
"""

from __future__ import annotations

from contacts.hooks import IngestedBatch, on_events_ingested

from .selectors import ECOMMERCE_EVENTS
from .services import (
    REORDER_ATTRIBUTE,
    commerce_events_apply,
    recommendations_forget,
    reorder_predict,
)

ORDER_COMMERCE = 5


@on_events_ingested(order=ORDER_COMMERCE, name="commerce")
def commerce_process(batch: IngestedBatch) -> None:
    events = [event for event in batch.events if event.name in ECOMMERCE_EVENTS]
    if not events:
        return
    buyers = commerce_events_apply(workspace=batch.workspace, events=events)
    if not buyers:
        return
    recommendations_forget(workspace=batch.workspace, contact_ids=buyers)
    for contact_id in reorder_predict(workspace=batch.workspace, contact_ids=sorted(buyers)):
        batch.mark_changed(contact_id, [REORDER_ATTRIBUTE])
