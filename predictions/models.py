"""Predictions: per-workspace models trained on the workspace's own history.

PredictionModel: what to predict — a *conversion* goal (an event such as `Order Completed`,
or reaching a lifecycle stage such as customer) within `horizon_days`, or *churn* (an existing
customer does not do the goal event again within `horizon_days`). Its `key` names it in the
filter language (`prediction.<key>.likelihood`, `prediction.<key>.tier`), so it never changes.

TrainingRun: one training, with its progress while it runs and its honest report after: AUC,
reliability curve and lift by decile on a later, held-out cut-off, next to the rule-based
score's AUC on the same contacts, and whether the result was published (and if not, why).

ContactPrediction: the published run's answer per contact — calibrated probability, tier and
the features that moved it most. One narrow row per (model, contact): segments read it with
an index probe (docs/predictions.md says why it is not a contact attribute).
"""

from __future__ import annotations

from django.db import models

from contacts.models import Contact
from workspaces.models import TenantModel, Workspace


class Kind(models.TextChoices):
    CONVERSION = "conversion", "Conversion"
    CHURN = "churn", "Churn / lapse risk"


class GoalType(models.TextChoices):
    EVENT = "event", "An event"
    LIFECYCLE = "lifecycle", "A lifecycle stage"


class Tier(models.TextChoices):
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


class PredictionModel(TenantModel):
    key = models.SlugField(max_length=60)
    name = models.CharField(max_length=150)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.CONVERSION)
    goal_type = models.CharField(max_length=10, choices=GoalType.choices, default=GoalType.EVENT)
    goal = models.CharField(max_length=200)  # an event name, or a lifecycle stage
    horizon_days = models.PositiveSmallIntegerField(default=30)
    is_active = models.BooleanField(default=True)  # trained nightly
    # The published run (its parameters score contacts); None until a run passes the bar.
    published_run = models.ForeignKey(
        "TrainingRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    scored_at = models.DateTimeField(null=True, blank=True)
    scored_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "key"], name="prediction_model_unique_key")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def filter_fields(self) -> tuple[str, str]:
        """The filter language's names for its likelihood (0–100) and tier."""
        return f"prediction.{self.key}.likelihood", f"prediction.{self.key}.tier"

    @property
    def is_churn(self) -> bool:
        return self.kind == Kind.CHURN


class TrainingRun(TenantModel):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Training"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Nightly"
        MANUAL = "manual", "Train now"

    model = models.ForeignKey(PredictionModel, on_delete=models.CASCADE, related_name="runs")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=8, choices=Trigger.choices, default=Trigger.MANUAL)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    stage = models.CharField(max_length=200, blank=True, default="")  # what it is doing now
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    train_cutoff = models.DateTimeField(null=True, blank=True)
    holdout_cutoff = models.DateTimeField(null=True, blank=True)
    published = models.BooleanField(default=False)
    # Why it was not published (too few positives, AUC below the bar …); "" when published.
    verdict = models.TextField(blank=True, default="")
    # The report: sample sizes, AUC (model and rule score), reliability curve, lift by decile,
    # feature weights. See predictions/training.py `Report`.
    report = models.JSONField(default=dict, blank=True)
    # The fitted model as plain numbers (features, scaler, coefficients, calibration map,
    # tier cut-offs): scoring is numpy on these, no pickle. See predictions/scoring.py.
    parameters = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["workspace", "model", "-created_at"], name="run_ws_model")]
        ordering = ["-created_at"]

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)


class ContactPrediction(TenantModel):
    created_at = None  # type: ignore[assignment]  # scored_at says it
    updated_at = None  # type: ignore[assignment]
    # Written a million rows a night: no foreign-key checks (a trigger call per row and
    # reference) and no index beyond the two below. Deletes still cascade through Django's
    # collector (a model, a contact, a workspace), as for the event table.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    model = models.ForeignKey(
        PredictionModel,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    run = models.ForeignKey(
        "TrainingRun",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    probability = models.FloatField()
    tier = models.CharField(max_length=6, choices=Tier.choices)
    # [[column, raw value, effect], …] — the largest contributions, signed, in probability
    # points as a fraction; put in words when read (selectors.contact_predictions).
    reasons = models.JSONField(default=list, blank=True)
    scored_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "model", "contact"], name="contact_prediction_unique"
            )
        ]
        # a contact's predictions (contact and lead pages, per-contact filter evaluation)
        indexes = [models.Index(fields=["workspace", "contact"], name="contact_prediction_ws_c")]
