"""Contacts and their events: one profile per person, one stream of everything they do.

Contact: identity (email, phone, external id = Segment userId, anonymous ids), profile
fields, custom attributes (JSONB, typed by AttributeDefinition), tags, consent per channel,
lifecycle stage, owner, lead score.

Event: everything a contact did or received — Segment calls (identify/track/page/screen/
group/alias), form submissions and the platform's own signals (email.opened,
segment.entered, score.changed …). Deduplicated by (workspace, message_id).
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from django.utils import timezone

from workspaces.models import TenantModel, User


class LifecycleStage(models.TextChoices):
    SUBSCRIBER = "subscriber", "Subscriber"
    LEAD = "lead", "Lead"
    MQL = "mql", "Marketing qualified lead"
    SQL = "sql", "Sales qualified lead"
    CUSTOMER = "customer", "Customer"
    OTHER = "other", "Other"


class ConsentStatus(models.TextChoices):
    UNKNOWN = "unknown", "Unknown"
    PENDING = "pending", "Pending confirmation"
    SUBSCRIBED = "subscribed", "Subscribed"
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed"


class Contact(TenantModel):
    email = models.CharField(max_length=254, blank=True, default="")  # normalised: lower-case
    phone = models.CharField(max_length=20, blank=True, default="")  # E.164
    first_name = models.CharField(max_length=150, blank=True, default="")
    last_name = models.CharField(max_length=150, blank=True, default="")
    company = models.CharField(max_length=200, blank=True, default="")
    job_title = models.CharField(max_length=200, blank=True, default="")
    country = models.CharField(max_length=64, blank=True, default="")
    city = models.CharField(max_length=120, blank=True, default="")
    timezone = models.CharField(max_length=64, blank=True, default="")  # IANA name
    lifecycle_stage = models.CharField(
        max_length=16, choices=LifecycleStage.choices, default=LifecycleStage.SUBSCRIBER
    )
    owner = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    tags = ArrayField(models.CharField(max_length=100), default=list, blank=True)
    attributes = models.JSONField(default=dict, blank=True)

    email_consent = models.CharField(
        max_length=16, choices=ConsentStatus.choices, default=ConsentStatus.UNKNOWN
    )
    email_consent_source = models.CharField(max_length=64, blank=True, default="")
    email_consent_at = models.DateTimeField(null=True, blank=True)
    sms_consent = models.CharField(
        max_length=16, choices=ConsentStatus.choices, default=ConsentStatus.UNKNOWN
    )
    sms_consent_source = models.CharField(max_length=64, blank=True, default="")
    sms_consent_at = models.DateTimeField(null=True, blank=True)

    external_id = models.CharField(max_length=255, blank=True, default="")  # Segment's userId
    anonymous_ids = ArrayField(models.CharField(max_length=255), default=list, blank=True)

    # Lead score as segments, thresholds and lists read it; maintained by the scoring app.
    score = models.IntegerField(default=0)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "email"], condition=~Q(email=""), name="contact_unique_email"
            ),
            models.UniqueConstraint(
                fields=["workspace", "external_id"],
                condition=~Q(external_id=""),
                name="contact_unique_external_id",
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "-updated_at"], name="contact_ws_updated"),
            models.Index(fields=["workspace", "lifecycle_stage"], name="contact_ws_stage"),
            models.Index(fields=["workspace", "-score"], name="contact_ws_score"),
            models.Index(fields=["workspace", "phone"], name="contact_ws_phone"),
            GinIndex(fields=["tags"], name="contact_tags_gin"),
            GinIndex(fields=["anonymous_ids"], name="contact_anon_gin"),
            GinIndex(fields=["attributes"], name="contact_attrs_gin"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        full = f"{self.first_name} {self.last_name}".strip()
        return full or self.email or self.phone or self.external_id or f"Anonymous #{self.pk}"


class EventType(models.TextChoices):
    IDENTIFY = "identify"
    TRACK = "track"
    PAGE = "page"
    SCREEN = "screen"
    GROUP = "group"
    ALIAS = "alias"


class Event(TenantModel):
    """One thing a contact did or received. Append-only; see docs/events.md for partitioning."""

    created_at = None  # type: ignore[assignment]  # received_at says it; events are never updated
    updated_at = None  # type: ignore[assignment]

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=10, choices=EventType.choices)
    name = models.CharField(max_length=200, blank=True, default="")  # track event / page name
    properties = models.JSONField(default=dict, blank=True)
    context = models.JSONField(default=dict, blank=True)
    timestamp = models.DateTimeField()  # the client's time, honoured
    received_at = models.DateTimeField(default=timezone.now)
    message_id = models.CharField(max_length=200)
    source = models.CharField(max_length=16, default="api")  # api, snippet, form, import, platform

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "message_id"], name="event_unique_message_id"
            )
        ]
        indexes = [
            models.Index(fields=["workspace", "contact", "-timestamp"], name="event_timeline"),
            models.Index(fields=["workspace", "name", "timestamp"], name="event_ws_name_ts"),
        ]

    def __str__(self) -> str:
        return f"{self.type}:{self.name or '-'} @ {self.timestamp:%Y-%m-%d %H:%M}"


class AttributeDefinition(TenantModel):
    """The per-workspace registry of custom attributes, so segments know each one's type."""

    class Type(models.TextChoices):
        STRING = "string"
        NUMBER = "number"
        BOOLEAN = "boolean"
        DATE = "date"
        DATETIME = "datetime"
        LIST = "list"

    key = models.CharField(max_length=100)
    label = models.CharField(max_length=150, blank=True, default="")
    type = models.CharField(max_length=10, choices=Type.choices, default=Type.STRING)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "key"], name="attribute_unique_key")
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.type})"


class EventDefinition(TenantModel):
    """Event names a workspace has seen, with their property keys: autocomplete for builders."""

    name = models.CharField(max_length=200)
    property_keys = ArrayField(models.CharField(max_length=100), default=list, blank=True)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="eventdef_unique_name")
        ]

    def __str__(self) -> str:
        return self.name
