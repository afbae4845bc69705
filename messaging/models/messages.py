"""One Message row per recipient per send, created before any provider is called.

Unique on (workspace, source_type, source_id, contact): a broadcast's fan-out or a
workflow's retried step finds the existing row instead of sending twice.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from workspaces.models import TenantModel


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    WHATSAPP = "whatsapp", "WhatsApp"


class SourceType(models.TextChoices):
    BROADCAST = "broadcast", "Broadcast"
    WORKFLOW = "workflow", "Workflow"
    TEST = "test", "Test send"


class MessageStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"  # waits for send_after (quiet hours, STO, retry backoff)
    QUEUED = "queued", "Queued"  # a send task is (or will be) on its way
    SENDING = "sending", "Sending"  # claimed by a task; the provider is being called
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    BOUNCED = "bounced", "Bounced"
    FAILED = "failed", "Failed"
    SUPPRESSED = "suppressed", "Suppressed"
    SKIPPED = "skipped", "Skipped"


SENT_STATUSES = (MessageStatus.SENT, MessageStatus.DELIVERED)


class Message(TenantModel):
    contact = models.ForeignKey(
        "contacts.Contact", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    email_version = models.ForeignKey(
        "messaging.TemplateVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    sms_version = models.ForeignKey(
        "messaging.SmsTemplateVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    topic = models.ForeignKey(
        "messaging.Topic", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source_type = models.CharField(max_length=10, choices=SourceType.choices)
    source_id = models.CharField(max_length=120)
    # The broadcast or workflow a message belongs to ("" for test sends): what the
    # deliverability guard holds and the stats group by. A workflow's messages carry its id
    # in their context (workflows put {"workflow": {"id"}} there); a broadcast's is its id.
    source_owner = models.CharField(max_length=40, blank=True, default="")
    broadcast = models.ForeignKey(
        "messaging.Broadcast",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="messages",
    )
    variant = models.ForeignKey(
        "messaging.BroadcastVariant",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
    )
    status = models.CharField(
        max_length=10, choices=MessageStatus.choices, default=MessageStatus.QUEUED
    )
    send_after = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    to_address = models.CharField(max_length=254, blank=True, default="")
    subject = models.CharField(max_length=300, blank=True, default="")
    context = models.JSONField(default=dict, blank=True)  # e.g. the triggering event
    provider_message_id = models.CharField(max_length=255, blank=True, default="")
    # Exactly-once bookkeeping (docs/security.md "Faults: exactly once"): the send task that
    # claimed the row ('sending'), and when that task handed it to the provider. A row in
    # 'sending' never handed over is safe to queue again; one handed over whose task died
    # before recording the answer has an unknown outcome and is failed, never resent.
    send_claim = models.UUIDField(null=True, blank=True)
    provider_called_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True, default="")
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    bounced_at = models.DateTimeField(null=True, blank=True)
    # A machine open (Apple Mail Privacy Protection's prefetch, a link scanner): never the
    # contact's open, so it is kept apart from opened_at (messaging/machine.py).
    machine_opened_at = models.DateTimeField(null=True, blank=True)
    complained_at = models.DateTimeField(null=True, blank=True)
    # The From address's domain, written when the message is handed to the provider.
    sending_domain = models.CharField(max_length=255, blank=True, default="")
    meta = models.JSONField(default=dict, blank=True)  # sto, bounce kind …

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "source_type", "source_id", "contact"],
                name="message_unique_source_contact",
            )
        ]
        indexes = [
            models.Index(fields=["workspace", "contact", "sent_at"], name="message_contact_sent"),
            models.Index(fields=["workspace", "-created_at"], name="message_ws_created"),
            models.Index(
                fields=["workspace", "broadcast", "status"],
                condition=Q(broadcast__isnull=False),
                name="message_broadcast_status",
            ),
            models.Index(
                fields=["workspace", "send_after"],
                condition=Q(status="scheduled"),
                name="message_scheduled_due",
            ),
            models.Index(
                fields=["workspace", "updated_at"],
                condition=Q(status="sending"),
                name="message_sending_since",
            ),
            # The deliverability guard's windows: messages handed to a provider since then.
            models.Index(
                fields=["workspace", "provider_called_at"],
                condition=Q(provider_called_at__isnull=False),
                name="message_ws_called",
            ),
            models.Index(
                fields=["workspace", "source_type", "source_owner"],
                condition=~Q(source_owner=""),
                name="message_ws_owner",
            ),
            # Provider webhooks (ESP, Twilio) arrive knowing only the provider's id, not the
            # workspace: the one deliberate index that does not lead with workspace.
            models.Index(
                fields=["provider_message_id"],
                condition=~Q(provider_message_id=""),
                name="message_provider_id",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.source_type}:{self.source_id} → {self.contact_id}"
