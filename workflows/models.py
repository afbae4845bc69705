"""Workflows: a graph a marketer draws, and the runs that carry contacts through it.

- Workflow: the thing in the list — name, status and entry settings (re-entry, goal,
  suppression, send window, daily message cap). Settings apply to every version.
- WorkflowVersion: one graph (nodes + edges, DESIGN.md's format). A draft can be edited;
  once published it is frozen, because runs in flight keep executing it.
- WorkflowRun: one enrolment of one contact. Waits are rows: `next_step_at` says when the
  scheduler should pick the run up next; while a worker holds it, `lease` is set and
  `next_step_at` is the lease's expiry, so a run whose worker died becomes due again.
- StepLog: what happened at each node (entered, waited, sent, branched, failed …), feeding
  the per-node numbers and the contact's timeline.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils import timezone

from workspaces.models import TenantModel, User, Workspace


def _webhook_secret() -> str:
    return secrets.token_hex(32)


class Workflow(TenantModel):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        ARCHIVED = "archived", "Archived"

    class Reentry(models.TextChoices):
        NEVER = "never", "Never: a contact goes through once"
        ALWAYS = "always", "Always (one active run at a time)"
        AFTER_DAYS = "after_days", "Again after N days"

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    current_version = models.ForeignKey(
        "WorkflowVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reentry = models.CharField(max_length=12, choices=Reentry.choices, default=Reentry.NEVER)
    reentry_days = models.PositiveIntegerField(null=True, blank=True)
    # A segment filter (DESIGN.md format): a contact who meets it exits as converted.
    goal_filter = models.JSONField(null=True, blank=True)
    # Contacts in this segment are not enrolled. A plain id: the segment lives in another app.
    suppression_segment_id = models.BigIntegerField(null=True, blank=True)
    # {"start": "09:00", "end": "20:00", "days": [0..6]} in contact-local time (Mon=0).
    send_window = models.JSONField(null=True, blank=True)
    # Messages per contact per contact-local day, counted across all workflows.
    daily_message_cap = models.PositiveIntegerField(null=True, blank=True)
    # A random, stable share of those who enter is held out: their run ends at once (exit
    # reason "holdout") so that the workflow's lift can be measured against them.
    holdout_percent = models.PositiveSmallIntegerField(default=0)
    # A/B split node id -> the variant a marketer sent all future traffic to ("send all future
    # traffic to the winner"): applies to every version, until they resume the split.
    split_winners = models.JSONField(default=dict, blank=True)
    webhook_secret = models.CharField(max_length=64, default=_webhook_secret)
    activated_at = models.DateTimeField(null=True, blank=True)
    snapshot_enrolled_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["workspace", "status"], name="workflow_ws_status")]
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_running(self) -> bool:
        return self.status == self.Status.ACTIVE


class WorkflowVersion(TenantModel):
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    graph = models.JSONField(default=dict)
    published_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "workflow", "number"], name="wfversion_unique_number"
            )
        ]
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"{self.workflow_id} v{self.number}"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A published graph is what runs in flight execute: it never changes again.
        if self.pk and self.is_published:
            stored = type(self).objects.filter(pk=self.pk).values("graph", "published_at").first()
            if stored and stored["published_at"] and stored["graph"] != self.graph:
                raise ValueError("A published workflow version is immutable.")
        super().save(*args, **kwargs)


class RunStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    WAITING = "waiting", "Waiting"
    COMPLETED = "completed", "Completed"
    EXITED = "exited", "Exited"
    CONVERTED = "converted", "Converted"
    FAILED = "failed", "Failed"


LIVE_STATUSES = (RunStatus.ACTIVE, RunStatus.WAITING)
HOLDOUT = "holdout"  # the exit reason (context["exit_reason"]) of a run held out at entry


class WorkflowRun(TenantModel):
    """One contact's trip through one version. `created_at` is the enrolment time."""

    # Big, write-heavy table: its composite indexes lead with the workspace already.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    workflow = models.ForeignKey(
        Workflow, on_delete=models.CASCADE, related_name="runs", db_index=False
    )
    version = models.ForeignKey(WorkflowVersion, on_delete=models.PROTECT, related_name="runs")
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.ACTIVE)
    current_node = models.CharField(max_length=64)
    next_step_at = models.DateTimeField(null=True, blank=True)
    # Set while a worker holds the run; the scheduler's claim writes a fresh one.
    lease = models.UUIDField(null=True, blank=True)
    # Set while the workflow is paused: the scheduler does not claim held runs.
    held = models.BooleanField(default=False)
    attempts = models.PositiveSmallIntegerField(default=0)
    # The triggering event, wait state, A/B variant, webhook responses …
    context = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, default="")
    # Makes enrolment idempotent: the same event / API call / anniversary enrols once.
    enrolment_key = models.CharField(max_length=200, blank=True, default="")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "workflow", "contact"],
                condition=Q(status__in=LIVE_STATUSES),
                name="wfrun_one_live_run_per_contact",
            ),
            models.UniqueConstraint(
                fields=["workspace", "workflow", "contact", "enrolment_key"],
                condition=~Q(enrolment_key=""),
                name="wfrun_unique_enrolment_key",
            ),
        ]
        indexes = [
            # The scheduler's claim: due live runs in due order, across workspaces (the one
            # index that does not lead with the workspace — claiming is global by design).
            models.Index(
                fields=["next_step_at"],
                condition=Q(status__in=LIVE_STATUSES, held=False),
                name="wfrun_due",
            ),
            # The scheduler's back-pressure count: runs leased to a worker right now.
            models.Index(
                fields=["next_step_at"],
                condition=Q(status__in=LIVE_STATUSES, lease__isnull=False),
                name="wfrun_leased",
            ),
            models.Index(
                fields=["workspace", "workflow", "status", "current_node"],
                name="wfrun_ws_wf_status",
            ),
            models.Index(fields=["workspace", "contact", "status"], name="wfrun_ws_contact"),
            # Deleting a contact (a merge's last step, an erasure) makes PostgreSQL check
            # this table for rows pointing at it, by contact_id alone: without this index,
            # a scan of every run per deleted contact.
            models.Index(fields=["contact"], name="wfrun_contact"),
        ]

    def __str__(self) -> str:
        return f"run {self.pk} of workflow {self.workflow_id} for contact {self.contact_id}"

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES


class Outcome(models.TextChoices):
    PASSED = "passed", "Passed"  # a trigger, branch or action did its work and moved on
    SENT = "sent", "Sent"  # a message was queued
    SKIPPED = "skipped", "Skipped"  # e.g. no consent, no address: moved on without sending
    DEFERRED = "deferred", "Deferred"  # quiet hours / daily cap: waits for the send window
    WAITING = "waiting", "Waiting"  # arrived at a wait
    RESUMED = "resumed", "Resumed"  # a wait ended (time reached, event came, condition held)
    TIMED_OUT = "timed_out", "Timed out"
    RETRY = "retry", "Retrying"  # the step failed and will be retried
    FAILED = "failed", "Failed"
    EXITED = "exited", "Exited"
    CONVERTED = "converted", "Converted"


# Outcomes after which the run moved on from the node (the node's "completed" number).
MOVED_ON = (Outcome.PASSED, Outcome.SENT, Outcome.SKIPPED, Outcome.RESUMED, Outcome.TIMED_OUT)


class StepLog(TenantModel):
    """One thing that happened at one node of one run. Append-only."""

    created_at = None  # type: ignore[assignment]  # `at` says it
    updated_at = None  # type: ignore[assignment]

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    run = models.ForeignKey(WorkflowRun, on_delete=models.CASCADE, related_name="steps")
    workflow = models.ForeignKey(
        Workflow, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    node_id = models.CharField(max_length=64)
    node_type = models.CharField(max_length=40)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    port = models.CharField(max_length=40, blank=True, default="")
    at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["workspace", "workflow", "node_id", "outcome"], name="steplog_node_stats"
            ),
            models.Index(fields=["workspace", "contact", "at"], name="steplog_contact_at"),
            models.Index(fields=["contact"], name="steplog_contact"),  # as wfrun_contact
        ]
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.node_id}: {self.outcome}"
