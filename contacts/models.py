"""Contacts and their events: one profile per person, one stream of everything they do.

Contact: identity (email, phone, external id = Segment userId, anonymous ids), profile
fields, custom attributes (JSONB, typed by AttributeDefinition), tags, consent per channel,
lifecycle stage, owner, lead score.

Event: everything a contact did or received — Segment calls (identify/track/page/screen/
group/alias), form submissions and the platform's own signals (email.opened,
segment.entered, score.changed …). Deduplicated by (workspace, message_id) through
EventMessage, because the event table is partitioned by month.
"""

from __future__ import annotations

import uuid

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import BrinIndex, GinIndex
from django.db import models
from django.db.models import Q
from django.utils import timezone

from workspaces.models import TenantModel, User, Workspace


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
            # New contacts per day (analytics) without reading every contact of the workspace.
            models.Index(fields=["workspace", "created_at"], name="contact_ws_created"),
            GinIndex(fields=["tags"], name="contact_tags_gin"),
            GinIndex(fields=["attributes"], name="contact_attrs_gin"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        full = f"{self.first_name} {self.last_name}".strip()
        return full or self.email or self.phone or self.external_id or f"Anonymous #{self.pk}"


class ContactAnonymousId(models.Model):
    """Which contact holds an anonymous id: the index every ingestion request reads.

    Derived from Contact.anonymous_ids (the source of truth) and kept by a database trigger
    on contacts_contact (migration 0004): the application never writes this table, so no
    code path that changes anonymous_ids (ingestion, merges, imports, the API) can leave it
    behind. A plain unique B-tree probe per id replaces a GIN search of the array column,
    which the planner costed badly (scanning a young workspace's contacts instead).
    """

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    anonymous_id = models.CharField(max_length=255)
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "anonymous_id"], name="contact_anonymous_id_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.anonymous_id} → contact {self.contact_id}"


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
    # Every index below leads with the workspace; a workspace-only index would be one more
    # write per event for no query. Neither reference is a database constraint: checking it
    # would lock the workspace row (FOR KEY SHARE) from every concurrent ingestion
    # transaction — one hot row shared by all of them — and each event's contact row at
    # COMMIT. Deletes still cascade (Django's collector); see docs/events.md.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="events", db_constraint=False
    )
    type = models.CharField(max_length=10, choices=EventType.choices)
    name = models.CharField(max_length=200, blank=True, default="")  # track event / page name
    properties = models.JSONField(default=dict, blank=True)
    context = models.JSONField(default=dict, blank=True)
    timestamp = models.DateTimeField()  # the client's time, honoured
    received_at = models.DateTimeField(default=timezone.now)
    message_id = models.CharField(max_length=200)
    source = models.CharField(max_length=16, default="api")  # api, snippet, form, import, platform

    class Meta:
        # The table is range-partitioned by month on `timestamp` (migration 0010, kept by
        # contacts.services.event_partitions): its primary key is (id, timestamp) in the
        # database — a unique index of a partitioned table must hold the partition key — and
        # `id` alone here (a global sequence, so an id still names one event). The messageId
        # dedupe lives in EventMessage for the same reason. See docs/events.md.
        indexes = [
            models.Index(fields=["workspace", "contact", "-timestamp"], name="event_timeline"),
            # "did X at least N times in the last D days": answered from the index alone.
            models.Index(
                fields=["workspace", "name", "timestamp"],
                include=["contact"],
                name="event_ws_name_ts",
            ),
            # Analytics recomputes an hour of events at a time (analytics/rollups.py). Events
            # arrive roughly in time order, so a block-range index finds an hour's blocks for
            # almost nothing at write time (one summary per 32 pages, not a B-tree entry).
            BrinIndex(
                fields=["timestamp"],
                name="event_ts_brin",
                pages_per_range=32,
                autosummarize=True,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type}:{self.name or '-'} @ {self.timestamp:%Y-%m-%d %H:%M}"


class EventMessage(models.Model):
    """A messageId a workspace's event was stored under: the deduplication of the event
    stream, kept apart from the event table because that one is partitioned by month and
    PostgreSQL enforces uniqueness on a partitioned table only together with the partition
    key. contacts.services.events claims a message id here (INSERT … ON CONFLICT DO NOTHING)
    in the same statement that stores the event, so a replay is refused whatever month its
    event fell in. Rows are kept EVENTS_DEDUPE_DAYS after they were received (a replay older
    than that would be stored again; Segment's own window is a day), then pruned in bounded
    batches by `contacts.event_messages_prune`."""

    pk = models.CompositePrimaryKey("workspace_id", "message_id")
    # No database constraint, as on Event: checking it would lock the workspace row from
    # every concurrent ingestion transaction.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    message_id = models.CharField(max_length=200)
    event_id = models.BigIntegerField()  # the event stored under it (contacts.Event)
    received_at = models.DateTimeField()

    class Meta:
        indexes = [
            # The prune reads the oldest rows; they arrive in received order, so a block-range
            # index finds them for almost nothing at write time.
            BrinIndex(fields=["received_at"], name="eventmessage_received_brin"),
        ]

    def __str__(self) -> str:
        return f"{self.message_id} → event {self.event_id}"


class EventRetention(TenantModel):
    """How long a workspace keeps its raw events: `months` (null: forever). Without a row
    the workspace keeps them EVENTS_RETENTION_MONTHS. Rollups (analytics) are kept forever
    whatever this says; see contacts.services.event_retention."""

    months = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace"], name="eventretention_one_per_workspace")
        ]

    def __str__(self) -> str:
        return f"{self.months or 'forever'} months"


class PendingProcessing(TenantModel):
    """Pipeline work accepted but not done yet: the events of one ingestion request (or
    platform write) that `contacts.process_events` must still run through scoring, segments
    and workflows. Written in the same transaction as the events, deleted when the pipeline
    has run them; a row still here at `due_at` (its task lost with a Redis restart, a publish
    that failed, a worker killed mid-pop) is published again by the recovery sweep. So an
    event accepted with a 200 is never lost (docs/security.md "Faults: exactly once")."""

    updated_at = None  # type: ignore[assignment]
    # No database constraint (like Event's): checking it would lock the workspace row from
    # every ingestion transaction.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    event_ids = ArrayField(models.BigIntegerField(), default=list)
    changed_fields = models.JSONField(default=dict)
    due_at = models.DateTimeField()

    class Meta:
        # The sweep's query: oldest due first, across workspaces (a global recovery job, like
        # the scheduler's claim: the one deliberate index that does not lead with workspace).
        indexes = [models.Index(fields=["due_at"], name="pending_processing_due")]

    def __str__(self) -> str:
        return f"{len(self.event_ids)} events due {self.due_at:%H:%M:%S}"


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


# --- Hosted forms ----------------------------------------------------------------------------


class Form(TenantModel):
    """A sign-up form marketers define and embed; each submission upserts a contact.

    `fields` is a list of {"key", "label", "type", "required", "options"?, "placeholder"?}.
    `key` is a contact field (email, first_name, …) or a custom attribute key; `type` is the
    input kind (see contacts.services.forms.FIELD_TYPES).
    """

    name = models.CharField(max_length=150)
    # The hosted URL is /f/<public_id>/. Looked up without a workspace (the visitor has none),
    # like an API key's hash; a random UUID is unguessable and unique in practice.
    public_id = models.UUIDField(default=uuid.uuid4, editable=False)
    fields = models.JSONField(default=list, blank=True)
    submit_label = models.CharField(max_length=60, default="Subscribe")
    consent_enabled = models.BooleanField(default=True)
    consent_required = models.BooleanField(default=False)
    consent_text = models.CharField(
        max_length=500, blank=True, default="Yes, send me news and offers by email."
    )
    double_opt_in = models.BooleanField(
        default=False, help_text="Consent stays 'pending' until the contact confirms by email."
    )
    success_message = models.CharField(
        max_length=500, blank=True, default="Thanks! You're on the list."
    )
    redirect_url = models.URLField(max_length=500, blank=True, default="")
    tags = ArrayField(models.CharField(max_length=100), default=list, blank=True)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "public_id"], name="form_unique_public_id")
        ]
        indexes = [
            models.Index(fields=["workspace", "-created_at"], name="form_ws_created"),
            # The public page resolves a form from its UUID alone (see above).
            models.Index(fields=["public_id"], name="form_public_id"),
        ]

    def __str__(self) -> str:
        return self.name


class FormSubmission(TenantModel):
    """One accepted submission: what was sent, by whom, and the contact it landed on."""

    form = models.ForeignKey(Form, on_delete=models.CASCADE, related_name="submissions")
    contact = models.ForeignKey(
        Contact, null=True, on_delete=models.SET_NULL, related_name="form_submissions"
    )
    data = models.JSONField(default=dict)
    ip = models.GenericIPAddressField(null=True, blank=True)
    page_url = models.CharField(max_length=1000, blank=True, default="")

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "form", "-created_at"], name="formsub_ws_form"),
        ]


# --- CSV import ------------------------------------------------------------------------------


class ContactImport(TenantModel):
    """A CSV upload and its progress: mapped in the UI, run in chunks by a Celery task."""

    class Status(models.TextChoices):
        MAPPING = "mapping", "Waiting for column mapping"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Importing"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

    class UpsertKey(models.TextChoices):
        EMAIL = "email", "Email"
        EXTERNAL_ID = "external_id", "External id"

    filename = models.CharField(max_length=255)
    size_bytes = models.PositiveIntegerField(default=0)
    # The file itself lives in the row: workers on other machines read it without a shared
    # disk, and it is deleted with the import. Always .defer("data") when listing.
    data = models.BinaryField()
    headers = ArrayField(models.CharField(max_length=200), default=list, blank=True)
    mapping = models.JSONField(default=dict, blank=True)  # column header -> target
    upsert_key = models.CharField(max_length=16, choices=UpsertKey.choices, default=UpsertKey.EMAIL)
    tags = ArrayField(models.CharField(max_length=100), default=list, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.MAPPING)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    # [{"line": n, "error": "...", "values": [...]}], capped (see services.imports.MAX_STORED_ERRORS)
    errors = models.JSONField(default=list, blank=True)
    failure = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "-created_at"], name="import_ws_created")]

    def __str__(self) -> str:
        return self.filename

    @property
    def percent(self) -> int:
        if self.status == self.Status.COMPLETED:
            return 100
        if not self.total_rows:
            return 0
        return min(100, int(self.processed_rows * 100 / self.total_rows))

    @property
    def is_finished(self) -> bool:
        return self.status in {self.Status.COMPLETED, self.Status.FAILED}


class DataIssue(TenantModel):
    """What ingestion rejected or corrected, by kind and field: a counter and the latest
    few samples, so the workspace sees its integration's mistakes (the "Data issues" page).

    One row per (workspace, kind, field), bumped by one upsert per request that had issues
    (contacts.services.data_issues); `field` is normalised (`batch[3].traits.email` →
    `traits.email`) so the rows stay few whatever the traffic.
    """

    class Action(models.TextChoices):
        REJECTED = "rejected", "Message rejected"
        CORRECTED = "corrected", "Value left out, message stored"

    kind = models.CharField(max_length=40)
    field = models.CharField(max_length=120)
    action = models.CharField(max_length=16, choices=Action.choices)
    count = models.BigIntegerField(default=0)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    # Newest first, at most data_issues.SAMPLES: [{"at", "field", "message", "value", "source"}]
    samples = models.JSONField(default=list)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "kind", "field"], name="data_issue_unique_kind_field"
            )
        ]
        indexes = [models.Index(fields=["workspace", "-last_seen_at"], name="data_issue_ws_seen")]

    def __str__(self) -> str:
        return f"{self.kind} {self.field} ×{self.count}"
