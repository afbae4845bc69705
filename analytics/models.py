"""Analytics keeps rollups of the event stream; the stream itself stays in contacts.Event.

An hour of a workspace's events is summarised once per (type, name) — count, distinct
contacts, revenue — so the dashboard reads a few hundred rows instead of scanning millions
of events. The hours are UTC: a workspace's day is the 24 hours of its own midnight, so a
time zone with a half-hour offset (India, +5:30) sees its day boundary half an hour off in
the charts (documented in docs/analytics.md).

Rollups are recomputed, never incremented: ingestion marks the hours its events fall in as
dirty (idempotently — a replayed batch marks the same hours) and a beat job recomputes each
dirty hour from the events table. A retried task therefore cannot count twice, and a late
event (a mobile app's queue flushed a day later, an import of last year's orders) lands in
the hour it happened in.
"""

from __future__ import annotations

from django.db import models

from workspaces.models import TenantModel


class HourlyEventCount(TenantModel):
    """The events of one type and name whose timestamp falls in one UTC hour."""

    created_at = None  # type: ignore[assignment]  # updated_at says when it was computed
    hour = models.DateTimeField()  # start of the UTC hour
    type = models.CharField(max_length=10)  # the event's type: track, page, identify …
    name = models.CharField(max_length=200, blank=True, default="")
    events = models.PositiveIntegerField()
    contacts = models.PositiveIntegerField()  # distinct contacts within the hour
    revenue = models.DecimalField(max_digits=16, decimal_places=2, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "hour", "type", "name"], name="hourly_event_count_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.type}:{self.name or '-'} @ {self.hour:%Y-%m-%d %H}h = {self.events}"


class DirtyHour(TenantModel):
    """An hour whose rollup no longer matches the events table: new events arrived in it."""

    created_at = None  # type: ignore[assignment]
    updated_at = None  # type: ignore[assignment]
    hour = models.DateTimeField()
    marked_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "hour"], name="dirty_hour_unique")
        ]

    def __str__(self) -> str:
        return f"workspace {self.workspace_id} @ {self.hour:%Y-%m-%d %H}h"
