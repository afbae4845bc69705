"""Segments: saved filters over contacts (dynamic) and hand-kept lists (static).

Membership is materialised in SegmentMembership, so "is X in segment S" is one index
probe for workflows, broadcasts and other segments. Every change is written to
SegmentMembershipChange and, as `segment.entered` / `segment.exited`, to the contact's
event stream. The `dep_*` columns are the dependency index the real-time processor reads:
which event names, contact fields and other segments a dynamic segment's filter looks at.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from contacts.models import Contact
from workspaces.models import TenantModel, User


class Segment(TenantModel):
    class Kind(models.TextChoices):
        DYNAMIC = "dynamic", "Dynamic segment"
        STATIC = "static", "Static list"

    class Status(models.TextChoices):
        IDLE = "idle", "Up to date"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Computing"
        FAILED = "failed", "Failed"

    name = models.CharField(max_length=150)
    description = models.TextField(blank=True, default="")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.DYNAMIC)
    filter = models.JSONField(default=dict, blank=True)
    # Bumped whenever `filter` changes: a recompute started for an older version stops.
    filter_version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL)

    # Dependency index (derived from `filter` on save; see segments.filters.dependencies).
    dep_event_names = ArrayField(models.CharField(max_length=200), default=list, blank=True)
    dep_fields = ArrayField(models.CharField(max_length=100), default=list, blank=True)
    dep_segment_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    drifts = models.BooleanField(default=False)  # relative dates: changes with time alone

    member_count = models.PositiveIntegerField(default=0)
    last_recomputed_at = models.DateTimeField(null=True, blank=True)
    recompute_status = models.CharField(max_length=8, choices=Status.choices, default=Status.IDLE)
    recompute_progress = models.PositiveSmallIntegerField(default=0)  # percent
    recompute_error = models.TextField(blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="segment_unique_name")
        ]
        indexes = [models.Index(fields=["workspace", "kind"], name="segment_ws_kind")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_static(self) -> bool:
        return self.kind == self.Kind.STATIC

    @property
    def is_computing(self) -> bool:
        return self.recompute_status in (self.Status.QUEUED, self.Status.RUNNING)


class SegmentMembership(TenantModel):
    """One contact in one segment, now. Large table: no created/updated timestamps."""

    created_at = None  # type: ignore[assignment]
    updated_at = None  # type: ignore[assignment]

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="memberships")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    entered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "segment", "contact"], name="membership_unique_contact"
            )
        ]
        indexes = [
            models.Index(fields=["workspace", "contact"], name="segmember_ws_contact"),
            models.Index(
                fields=["workspace", "segment", "-entered_at"], name="segmember_ws_recent"
            ),
        ]


class ChangeReason(models.TextChoices):
    REALTIME = "realtime", "Real time"
    RECOMPUTE = "recompute", "Recompute"
    MANUAL = "manual", "By hand"
    IMPORT = "import", "Import"
    API = "api", "API"
    WORKFLOW = "workflow", "Workflow"


class SegmentMembershipChange(TenantModel):
    """History: a contact entered or left a segment, when and why."""

    created_at = None  # type: ignore[assignment]
    updated_at = None  # type: ignore[assignment]

    class Kind(models.TextChoices):
        ENTERED = "entered", "Entered"
        EXITED = "exited", "Exited"

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="changes")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    at = models.DateTimeField(default=timezone.now)
    reason = models.CharField(max_length=10, choices=ChangeReason.choices)

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "segment", "-at"], name="segchange_ws_segment"),
            models.Index(fields=["workspace", "contact", "-at"], name="segchange_ws_contact"),
        ]


class SegmentSizeSnapshot(TenantModel):
    """The size of a segment on a day (the list page's growth sparkline)."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="snapshots")
    day = models.DateField()
    size = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "segment", "day"], name="snapshot_unique_day"
            )
        ]
        ordering = ["day"]
