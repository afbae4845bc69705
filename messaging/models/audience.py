"""Who may receive what: subscription topics, per-contact opt-outs, suppressions, consent log."""

from __future__ import annotations

import hashlib

from django.db import models
from django.db.models import Q

from workspaces.models import TenantModel


def address_hash(address: str) -> str:
    """The stable hash under which an address is suppressed (kept after erasure)."""
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()


class Topic(TenantModel):
    """A subscription topic ("Newsletter", "Product updates"). Every send belongs to one."""

    name = models.CharField(max_length=120)
    key = models.SlugField(max_length=60)
    description = models.CharField(max_length=300, blank=True, default="")
    is_default = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "key"], name="topic_unique_key"),
            models.UniqueConstraint(
                fields=["workspace"], condition=Q(is_default=True), name="topic_one_default"
            ),
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TopicOptOut(TenantModel):
    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="+")
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="opt_outs")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "contact", "topic"], name="topic_optout_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} opted out of {self.topic_id}"


class SuppressionReason(models.TextChoices):
    HARD_BOUNCE = "hard_bounce", "Hard bounce"
    SOFT_BOUNCE = "soft_bounce", "Repeated soft bounces"
    COMPLAINT = "complaint", "Spam complaint"
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed (kept after erasure)"
    MANUAL = "manual", "Added by hand"
    INVALID = "invalid", "Invalid address"


class Suppression(TenantModel):
    """An address that must not be sent to. Looked up by hash, so erasure can blank the address."""

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        SMS = "sms", "SMS"

    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.EMAIL)
    address = models.CharField(max_length=254, blank=True, default="")  # blank once erased
    address_hash = models.CharField(max_length=64)
    reason = models.CharField(max_length=16, choices=SuppressionReason.choices)
    detail = models.CharField(max_length=500, blank=True, default="")
    source = models.CharField(max_length=40, blank=True, default="")
    # Soft bounces accumulate here; the row becomes active at MESSAGING_SOFT_BOUNCE_LIMIT.
    soft_bounce_count = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "channel", "address_hash"], name="suppression_unique_address"
            )
        ]
        indexes = [models.Index(fields=["workspace", "active", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.address or self.address_hash[:12]} ({self.reason})"


class ConsentLog(TenantModel):
    """Every consent change, with where it came from: the proof a regulator asks for."""

    contact = models.ForeignKey(
        "contacts.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    address_hash = models.CharField(max_length=64, blank=True, default="")
    channel = models.CharField(max_length=16)  # email, sms, topic:<key>
    status = models.CharField(max_length=16)
    previous = models.CharField(max_length=16, blank=True, default="")
    source = models.CharField(max_length=64)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "contact", "-created_at"])]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.channel}: {self.previous or '?'} → {self.status} ({self.source})"
