"""What analytics provides to the apps below it through their hooks (workflows.hooks).
Its pipeline steps are in analytics/processors.py and analytics/attribution/."""

from __future__ import annotations

from workflows.hooks import on_event_counts

from .selectors import event_counts_since

# The workflow builder's event picker shows how often each event was seen (from the rollups).
on_event_counts(event_counts_since)
