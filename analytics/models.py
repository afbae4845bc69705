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

from django.conf import settings
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


class MessageCount(TenantModel):
    """Messaging over time: one quarter hour (UTC) of one source's message events — a
    broadcast (and variant) or a workflow node, with its template. Quarter hours because every
    time zone's offset is a whole number of them (India +5:30, Nepal +5:45): a workspace's
    local day is exactly 96 buckets, which hourly rows cannot give a half-hour zone.
    Recounted from the email/SMS events with the hourly rollups (analytics/rollups.py)."""

    created_at = None  # type: ignore[assignment]
    bucket = models.DateTimeField()  # start of the UTC quarter hour
    source_type = models.CharField(max_length=10)  # broadcast | workflow
    owner = models.CharField(max_length=40)  # the broadcast's or workflow's id
    node = models.CharField(max_length=120, blank=True, default="")  # a workflow's node id
    template_id = models.BigIntegerField(default=0)  # 0: none known
    variant_id = models.BigIntegerField(default=0)  # a broadcast's A/B variant; 0: none
    sent = models.IntegerField(default=0)
    delivered = models.IntegerField(default=0)
    hard_bounced = models.IntegerField(default=0)
    soft_bounced = models.IntegerField(default=0)
    opened = models.IntegerField(default=0)  # unique human opens (first per message)
    machine_opened = models.IntegerField(default=0)  # Apple MPP, link scanners
    # unique human clicks: first clicks less those a scanner's burst took back (may be
    # negative in one bucket when the take-back falls in the next)
    clicked = models.IntegerField(default=0)
    unsubscribed = models.IntegerField(default=0)
    complained = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "bucket", "source_type", "owner", "node", "template_id",
                        "variant_id"],
                name="message_count_unique",
            )
        ]  # fmt: skip
        indexes = [
            models.Index(
                fields=["workspace", "source_type", "owner", "bucket"], name="message_count_source"
            ),
            models.Index(
                fields=["workspace", "template_id", "bucket"], name="message_count_template"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source_type}:{self.owner}/{self.node or '-'} @ {self.bucket:%Y-%m-%d %H:%M}"


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


class AttributionModel(models.TextChoices):
    LAST_TOUCH = "last_touch", "Last touch"
    FIRST_TOUCH = "first_touch", "First touch"
    LINEAR = "linear", "Linear"


def _default_conversion_events() -> list[str]:
    # Segment's e-commerce spec names the purchase "Order Completed"; sales records deal.won.
    return ["Order Completed", "deal.won"]


class AttributionConfig(TenantModel):
    """How a workspace credits revenue to messages: which events are conversions and how long
    after a click or an open a conversion still counts for the message.

    The settings columns are those the report's rows were computed with (`generation`). New
    settings wait in `pending` while a recompute writes their rows as the next generation;
    the report keeps showing the current one until the last batch is in, then both switch
    together (analytics/attribution/recompute.py)."""

    class Status(models.TextChoices):
        IDLE = "idle", "Up to date"
        QUEUED = "queued", "Waiting for a worker"
        RUNNING = "running", "Recomputing"
        FAILED = "failed", "Failed"

    conversion_events = models.JSONField(default=_default_conversion_events)
    click_window_days = models.PositiveSmallIntegerField(default=5)
    open_window_days = models.PositiveSmallIntegerField(default=1)
    default_model = models.CharField(
        max_length=12, choices=AttributionModel.choices, default=AttributionModel.LAST_TOUCH
    )
    generation = models.PositiveIntegerField(default=0)  # of the AttributedConversion rows shown
    # {"generation", "conversion_events", "click_window_days", "open_window_days"} being
    # recomputed, or null.
    pending = models.JSONField(null=True, blank=True)
    recompute_status = models.CharField(max_length=8, choices=Status.choices, default=Status.IDLE)
    recompute_total = models.PositiveIntegerField(default=0)  # conversions to credit
    recompute_done = models.PositiveIntegerField(default=0)
    # Where the scan stands: {"name": index into the pending events, "at": iso time, "id": n}
    recompute_cursor = models.JSONField(default=dict, blank=True)
    recompute_started_at = models.DateTimeField(null=True, blank=True)
    recomputed_at = models.DateTimeField(null=True, blank=True)
    recompute_error = models.TextField(blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace"], name="attribution_config_unique")
        ]

    def __str__(self) -> str:
        return f"attribution settings of workspace {self.workspace_id}"


class AttributedConversion(TenantModel):
    """One conversion event credited, under one model, to one message touch before it (or to
    nothing — `message_id` null — when no touch was in the window). Linear attribution writes
    one row per touch, each with its share in `credit`; the credits of a conversion under a
    model sum to 1."""

    updated_at = None  # type: ignore[assignment]
    event_id = (
        models.BigIntegerField()
    )  # the conversion (contacts.Event; no constraint, like events)
    # Which settings wrote the row (AttributionConfig.generation): reports read the current
    # generation; a recompute writes the next one beside it.
    generation = models.PositiveIntegerField(default=0)
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="attributed_conversions"
    )
    name = models.CharField(max_length=200)  # the conversion event's name
    converted_at = models.DateTimeField()
    revenue = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    model = models.CharField(max_length=12, choices=AttributionModel.choices)
    message_id = models.BigIntegerField(null=True, blank=True)  # messaging.Message touched
    channel = models.CharField(max_length=10, blank=True, default="")
    source_type = models.CharField(max_length=10, blank=True, default="")  # workflow, broadcast
    source_id = models.CharField(max_length=120, blank=True, default="")  # the workflow/broadcast
    touch = models.CharField(max_length=10, blank=True, default="")  # click, open
    touched_at = models.DateTimeField(null=True, blank=True)
    credit = models.DecimalField(max_digits=7, decimal_places=6, default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "event_id", "generation", "model", "message_id"],
                name="attributed_conversion_unique",
                nulls_distinct=False,
            )
        ]
        indexes = [
            models.Index(
                fields=["workspace", "generation", "model", "converted_at"],
                name="attribution_ws_time",
            ),
            models.Index(fields=["contact"], name="attribution_contact"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.revenue} × {self.credit} → {self.source_type}:{self.source_id}"


class Funnel(TenantModel):
    """A saved funnel report: ordered steps a contact takes within `window_days` of the first.
    `steps` is a list of {"event": name} or {"page": url-fragment}; exclusions and the
    breakdown are optional (analytics/funnels/, docs/funnels.md)."""

    name = models.CharField(max_length=200)
    steps = models.JSONField(default=list)
    window_days = models.PositiveSmallIntegerField(default=30)
    # [{"event": "Demo Booked", "from_step": 1, "to_step": 3}]: who did it between those
    # steps is left out of the funnel.
    exclusions = models.JSONField(default=list, blank=True)
    # {"property": "plan", "top": 10} / {"field": "country"} / {"utm": "medium"}; {} is the
    # UTM source, top 8.
    breakdown = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["workspace", "-created_at"], name="funnel_ws_created")]

    def __str__(self) -> str:
        return self.name


class ContactWeek(TenantModel):
    """A contact was active in one week of the workspace's calendar (Monday to Sunday, in its
    time zone): `days` has bit i set when it was active on Monday + i days. `signup_week` is
    the week the contact was created in — its cohort. Written by the same recount as the
    hourly rollups (analytics/rollups.py), from the contact's own events (the platform's
    records of what was done *to* it — sent, delivered, segment and score changes — left out,
    as scoring's inactivity rules do). One row per active contact and week: cohort retention and distinct
    contacts over a period read these, never the events table."""

    created_at = None  # type: ignore[assignment]
    updated_at = None  # type: ignore[assignment]
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    week = models.DateField()  # the Monday
    days = models.PositiveSmallIntegerField()  # bit 0 Monday … bit 6 Sunday
    signup_week = models.DateField()  # the Monday of the week the contact was created

    class Meta:
        constraints = [
            # Also the distinct-contacts read: a range of weeks, contacts and days from the
            # index alone.
            models.UniqueConstraint(
                fields=["workspace", "week", "contact"],
                include=["days"],
                name="contact_week_unique",
            )
        ]
        indexes = [
            # Cohort retention: cohorts since a week, counted per week from the index alone.
            models.Index(fields=["workspace", "signup_week", "week"], name="contact_week_cohort"),
            models.Index(fields=["contact"], name="contact_week_contact"),
        ]

    def __str__(self) -> str:
        return f"contact {self.contact_id} active in the week of {self.week} ({self.days:07b})"
