"""Webhook endpoints (a URL, its signing secret, its health) and the delivery log."""

from __future__ import annotations

import base64
import secrets

from django.db import models

from workspaces.models import TenantModel


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class WebhookEndpoint(TenantModel):
    """Where one kind of message goes. `source` names the owner of the URL (e.g.
    `workflow:12:hook`, `scoring.crm`), one endpoint per source and workspace."""

    class Kind(models.TextChoices):
        WORKFLOW = "workflow", "Workflow webhook"
        CRM = "crm", "CRM"
        SLACK = "slack", "Slack"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    source = models.CharField(max_length=200)
    name = models.CharField(max_length=200)
    url = models.CharField(max_length=2000)
    secret = models.CharField(max_length=128, default=new_secret)
    is_enabled = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True, default="")
    consecutive_failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "source"], name="webhookendpoint_source")
        ]
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class WebhookDelivery(TenantModel):
    """One attempt to deliver one message to an endpoint. A retry is a new row (attempt
    n + 1) waiting for its `next_attempt_at`; a replay is a new row pointing at the one it
    replays. Only a short excerpt of the answer is kept, never its headers."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped (endpoint disabled)"

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="+")
    event_type = models.CharField(max_length=64)
    message_id = models.CharField(max_length=100)  # the `webhook-id` header; same on retries
    url = models.CharField(max_length=2000)
    payload = models.JSONField()
    attempt = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    response_status = models.PositiveIntegerField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=300, blank=True, default="")
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True, default="")
    attempted_at = models.DateTimeField(null=True, blank=True)
    # When a pending row is due (a retry's backoff), or when a claimed one counts as lost.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    replay_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "-created_at"], name="webhookdelivery_ws_recent"),
            models.Index(
                fields=["workspace", "endpoint", "-created_at"], name="webhookdelivery_ep"
            ),
            models.Index(
                fields=["next_attempt_at"],
                name="webhookdelivery_due",
                condition=models.Q(status__in=["pending", "sending"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.url} (attempt {self.attempt})"

    @property
    def request_excerpt(self) -> str:
        from .client import excerpt
        from .signing import body_of

        return excerpt(body_of(self.payload))
