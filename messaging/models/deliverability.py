"""The deliverability guard's holds: a broadcast or workflow whose complaint or hard-bounce
rate went red stops sending until a person resumes it (docs/deliverability.md)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from workspaces.models import TenantModel, User


class SendingHold(TenantModel):
    """Sending of one source (a broadcast, a workflow) is held while `released_at` is null.
    The send task checks it before every provider call; a resumed hold stays as the record
    of what happened, and the guard then judges only messages sent after `released_at`."""

    class Level(models.TextChoices):
        AMBER = "amber", "Amber"
        RED = "red", "Red"

    source_type = models.CharField(
        max_length=10, choices=[("broadcast", "Broadcast"), ("workflow", "Workflow")]
    )
    source_owner = models.CharField(max_length=40)  # the broadcast's or workflow's id
    reason = models.CharField(max_length=300)
    complaint_rate = models.FloatField(default=0)
    hard_bounce_rate = models.FloatField(default=0)
    volume = models.PositiveIntegerField(default=0)  # messages the rates were computed over
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            # One active hold per source; resumed ones are kept as history.
            models.UniqueConstraint(
                fields=["workspace", "source_type", "source_owner"],
                condition=Q(released_at__isnull=True),
                name="sending_hold_one_active",
            )
        ]
        indexes = [models.Index(fields=["workspace", "-created_at"], name="sending_hold_recent")]

    def __str__(self) -> str:
        state = "resumed" if self.released_at else "held"
        return f"{self.source_type} {self.source_owner} {state}: {self.reason}"
