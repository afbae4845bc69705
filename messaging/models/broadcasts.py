"""One-off sends to a segment: now, scheduled (optionally in each contact's time zone), with an
optional A/B test on a sample and optional send-time optimisation."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models

from workspaces.models import TenantModel, User


class Broadcast(TenantModel):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SCHEDULED = "scheduled", "Scheduled"
        SENDING = "sending", "Sending"
        TESTING = "testing", "A/B test running"
        SENT = "sent", "Sent"
        CANCELLED = "cancelled", "Cancelled"
        FAILED = "failed", "Failed"

    class Metric(models.TextChoices):
        OPEN = "open", "Open rate"
        CLICK = "click", "Click rate"

    name = models.CharField(max_length=150)
    channel = models.CharField(max_length=10, default="email")
    email_template = models.ForeignKey(
        "messaging.EmailTemplate",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    sms_template = models.ForeignKey(
        "messaging.SmsTemplate", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The segment's id; resolved through segments' selectors when the broadcast fans out.
    segment_id = models.BigIntegerField()
    # Members of any of these segments are left out (the same audience selector counts them
    # on the form and fans out at send time).
    exclude_segment_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    topic = models.ForeignKey(
        "messaging.Topic", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    # Deliver at scheduled_at's wall-clock time in each contact's own time zone.
    local_time = models.BooleanField(default=False)
    utm_campaign = models.CharField(max_length=100, blank=True, default="")

    sto_enabled = models.BooleanField("Send-time optimisation", default=False)
    sto_window_hours = models.PositiveSmallIntegerField(default=24)
    sto_control_percent = models.PositiveSmallIntegerField(default=10)
    sto_explore_percent = models.PositiveSmallIntegerField(default=10)

    ab_enabled = models.BooleanField(default=False)
    ab_sample_percent = models.PositiveSmallIntegerField(default=20)
    ab_wait_minutes = models.PositiveIntegerField(default=240)
    # Clicks by default: Apple Mail Privacy Protection opens every message, inflating opens.
    ab_metric = models.CharField(max_length=8, choices=Metric.choices, default=Metric.CLICK)
    ab_test_ends_at = models.DateTimeField(null=True, blank=True)
    # No winner is called below this many recipients per variant (nor on equal counts):
    # the first variant goes to the rest, and `ab_no_winner_reason` says why.
    ab_min_recipients = models.PositiveIntegerField(default=500)
    ab_no_winner_reason = models.CharField(max_length=300, blank=True, default="")
    ab_winner = models.ForeignKey(
        "messaging.BroadcastVariant",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # A smart test sends in waves: the first splits its share evenly, each later one is
    # allocated by Thompson sampling on the results so far (a floor per variant), the last
    # takes everyone left. `ab_allocations`: per wave sent, its size and variant shares.
    ab_mode = models.CharField(
        max_length=8, choices=[("fixed", "Test, then the winner"), ("smart", "Smart waves")],
        default="fixed",
    )  # fmt: skip
    ab_waves = models.PositiveSmallIntegerField(default=4)
    ab_floor_percent = models.PositiveSmallIntegerField(default=10)
    ab_allocations = models.JSONField(default=list, blank=True)

    recipients_total = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True, default="")
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "-created_at"]),
            models.Index(fields=["workspace", "status", "scheduled_at"]),
        ]

    def __str__(self) -> str:
        return self.name


class BroadcastVariant(TenantModel):
    """One arm of an A/B test: a subject line and/or a different template."""

    broadcast = models.ForeignKey(Broadcast, on_delete=models.CASCADE, related_name="variants")
    label = models.CharField(max_length=8)
    subject = models.CharField(max_length=300, blank=True, default="")  # "" = the template's
    email_template = models.ForeignKey(
        "messaging.EmailTemplate",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "broadcast", "label"], name="variant_unique_label"
            )
        ]
        ordering = ["label"]

    def __str__(self) -> str:
        return f"{self.broadcast_id}/{self.label}"
