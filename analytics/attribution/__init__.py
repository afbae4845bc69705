"""Revenue attribution: which workflow or broadcast earned a conversion's revenue.

- processing: the events_ingested processor that credits conversions to message touches;
- config: the workspace's settings (conversion events, windows, default model), and the
  recompute a change of them starts;
- recompute: crediting every conversion again, in batches, with progress;
- selectors: revenue by source and totals for the report and the dashboard.

See docs/attribution.md for the rules and their limits.
"""

from __future__ import annotations

from contacts.hooks import IngestedBatch, on_events_ingested

from .config import (
    Settings,
    State,
    attribution_config_save,
    attribution_recompute_start,
    attribution_settings,
    attribution_state,
)
from .processing import attribution_process_events, revenue_of
from .selectors import attribution_by_source, attribution_totals

# After scoring (10), segments (20), workflows (30) and rollups (40): conversions recorded by
# the earlier processors (deal.won from a CRM sync, say) are in the batch by then.
ORDER_ATTRIBUTION = 50


@on_events_ingested(order=ORDER_ATTRIBUTION, name="analytics.attribution")
def attribution_process_batch(batch: IngestedBatch) -> None:
    attribution_process_events(workspace=batch.workspace, events=batch.events)


__all__ = [
    "Settings",
    "State",
    "attribution_by_source",
    "attribution_config_save",
    "attribution_process_events",
    "attribution_recompute_start",
    "attribution_settings",
    "attribution_state",
    "attribution_totals",
    "revenue_of",
]
