"""Lead scoring: models and rules, the points ledger, per-contact scores, and the sales handoff.

How a score is kept (docs/scoring.md has the reasoning):

- `ScoreChange` is an append-only ledger of points. A contact's score under a model is the sum
  of its entries, each worth its points decayed to "now" by the model's decay settings.
  Behavioural and manual points decay; fit/negative state points do not (they are re-evaluated
  and reversed by an opposite entry when the contact stops matching).
- `ContactScore` stores the rounded score as of its last computation and `valid_until`, the
  next moment that integer can change by itself (a decay step, an expiry, an inactivity
  penalty). Nothing rewrites scores nightly: a periodic job refreshes only rows whose
  `valid_until` has passed, and selectors correct stale rows on read.
- The primary model's score is mirrored into `Contact.score` (what segments filter on) and
  its threshold crossings move `Contact.lifecycle_stage` (lead ⇄ MQL, with hysteresis).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from contacts.models import Contact
from workspaces.models import TenantModel, User


class DecayMode(models.TextChoices):
    NONE = "none", "No decay"
    PERCENT = "percent", "Lose a percentage per period"
    EXPIRE = "expire", "Expire after a number of days"


class ScoringModel(TenantModel):
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True, default="")
    is_primary = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    mql_threshold = models.IntegerField(default=50)
    # A qualified contact leaves MQL only below threshold − hysteresis, so a contact that
    # hovers around the threshold does not flap between lead and MQL.
    hysteresis = models.PositiveIntegerField(default=10)
    decay_mode = models.CharField(max_length=8, choices=DecayMode.choices, default=DecayMode.NONE)
    decay_percent = models.PositiveSmallIntegerField(default=0)  # 1–99, with PERCENT
    decay_period_days = models.PositiveIntegerField(default=30)  # with PERCENT
    expire_after_days = models.PositiveIntegerField(default=90)  # with EXPIRE

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace"], condition=Q(is_primary=True), name="scoring_one_primary"
            ),
            models.UniqueConstraint(fields=["workspace", "name"], name="scoring_model_unique_name"),
        ]
        indexes = [models.Index(fields=["workspace", "is_active"], name="scoring_model_ws_active")]
        ordering = ["-is_primary", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def exit_threshold(self) -> int:
        return self.mql_threshold - self.hysteresis


class RuleKind(models.TextChoices):
    BEHAVIOURAL = "behavioural", "Behaviour (an event)"
    FIT = "fit", "Fit (who they are)"
    NEGATIVE = "negative", "Negative signal"


class NegativeSignal(models.TextChoices):
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed from email"
    BOUNCED = "bounced", "An email bounced"
    INACTIVE = "inactive", "Inactive for a number of days"


class ScoringRule(TenantModel):
    """One way to earn (or lose) points under a model.

    - behavioural: every matching event (`event` name + `where` property conditions in the
      segment filter language's format) adds `points`, within optional daily/total caps;
    - fit: while the contact matches `filter` (segment filter language) it holds `points`;
    - negative: a preset signal — unsubscribed (a state, like fit), bounced (an event, like
      behavioural) or inactive for `inactive_days` (a state that starts when activity stops).
    """

    model = models.ForeignKey(ScoringModel, on_delete=models.CASCADE, related_name="rules")
    kind = models.CharField(max_length=12, choices=RuleKind.choices)
    name = models.CharField(max_length=150)
    is_active = models.BooleanField(default=True)
    points = models.IntegerField()
    event = models.CharField(max_length=200, blank=True, default="")
    where = models.JSONField(default=list, blank=True)
    filter = models.JSONField(default=dict, blank=True)
    signal = models.CharField(max_length=16, choices=NegativeSignal.choices, blank=True, default="")
    inactive_days = models.PositiveIntegerField(null=True, blank=True)
    cap_per_day = models.PositiveIntegerField(null=True, blank=True)
    cap_total = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "model"], name="scoring_rule_ws_model")]
        ordering = ["kind", "name", "pk"]

    def __str__(self) -> str:
        return self.name

    # How the rule is evaluated, whatever its kind: an event rule or a state rule.
    BOUNCE_EVENT = "email.bounced"
    UNSUBSCRIBED_FILTER = {"field": "email_consent", "op": "eq", "value": "unsubscribed"}

    @property
    def trigger_event(self) -> str:
        if self.kind == RuleKind.NEGATIVE and self.signal == NegativeSignal.BOUNCED:
            return self.BOUNCE_EVENT
        return self.event if self.kind == RuleKind.BEHAVIOURAL else ""

    @property
    def state_filter(self) -> dict:
        if self.kind == RuleKind.FIT:
            return self.filter
        if self.kind == RuleKind.NEGATIVE and self.signal == NegativeSignal.UNSUBSCRIBED:
            return self.UNSUBSCRIBED_FILTER
        return {}

    @property
    def is_event_rule(self) -> bool:
        return bool(self.trigger_event)

    @property
    def is_inactivity_rule(self) -> bool:
        return self.kind == RuleKind.NEGATIVE and self.signal == NegativeSignal.INACTIVE


class ScoreSource(models.TextChoices):
    RULE = "rule", "Rule"
    FIT = "fit", "Fit / state rule"
    WORKFLOW = "workflow", "Workflow"
    MANUAL = "manual", "Manual"
    API = "api", "API"


class ScoreChange(TenantModel):
    """One entry of the points ledger (never updated; reversed by an opposite entry)."""

    updated_at = None  # type: ignore[assignment]

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    model = models.ForeignKey(ScoringModel, on_delete=models.CASCADE, related_name="+")
    rule = models.ForeignKey(
        ScoringRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    points = models.IntegerField()
    reason = models.CharField(max_length=300)
    source = models.CharField(max_length=10, choices=ScoreSource.choices, default=ScoreSource.RULE)
    # The event that caused it. A plain id, not a foreign key: the event table is meant to be
    # partitioned by month, and the ledger must outlive an event partition being dropped.
    event_id = models.BigIntegerField(null=True, blank=True)
    # Idempotency: a behavioural award is keyed on (rule, event), so a retried batch does
    # not count the same event twice.
    key = models.CharField(max_length=80, blank=True, default="")
    at = models.DateTimeField(default=timezone.now)
    decays = models.BooleanField(default=True)
    # When the entry is worth nothing any more (decay/expiry); null = never. Lets score
    # computation read only live entries.
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "model", "key"],
                condition=~Q(key=""),
                name="scorechange_unique_key",
            )
        ]
        indexes = [
            models.Index(fields=["workspace", "contact", "model", "-at"], name="scorechange_hist"),
            models.Index(fields=["workspace", "rule", "contact", "at"], name="scorechange_rule"),
            models.Index(fields=["workspace", "model", "at"], name="scorechange_ws_model_at"),
        ]
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.points:+d} {self.reason}"


class ContactScore(TenantModel):
    """A contact's score under one model, as of `computed_at`, valid until `valid_until`."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    model = models.ForeignKey(ScoringModel, on_delete=models.CASCADE, related_name="+")
    score = models.IntegerField(default=0)
    computed_at = models.DateTimeField(default=timezone.now)
    # The next moment the score changes with no new input (decay step, expiry, inactivity);
    # null = not until something happens. The periodic refresh claims rows past it.
    valid_until = models.DateTimeField(null=True, blank=True)
    # State rules (fit, unsubscribed, inactive) currently held: {"<rule id>": points}.
    state = models.JSONField(default=dict, blank=True)
    qualified = models.BooleanField(default=False)  # at/above threshold, with hysteresis
    qualified_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    last_delta = models.IntegerField(default=0)
    last_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "contact", "model"], name="contactscore_unique"
            )
        ]
        # Few indexes on purpose: the pipeline rewrites rows all day, and every index on a
        # changing column makes each update pay for it. Rankings read Contact.score; the hot
        # feed reads the ledger's (workspace, model, at) index.
        indexes = [
            models.Index(
                fields=["workspace", "valid_until"],
                condition=Q(valid_until__isnull=False),
                name="contactscore_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.score} ({self.model_id})"

    @property
    def state_points(self) -> int:
        return sum(int(v) for v in self.state.values())


# --- Handoff --------------------------------------------------------------------------------


class SalesRep(TenantModel):
    """A member's sales settings: capacity and round-robin bookkeeping."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    max_open_leads = models.PositiveIntegerField(null=True, blank=True)  # null = unlimited
    is_available = models.BooleanField(default=True)
    last_assigned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="salesrep_unique_user")
        ]

    def __str__(self) -> str:
        return str(self.user)


class AssignmentRule(TenantModel):
    """Route matching leads (segment filter language; empty = everyone) to a pool of reps.

    Rules are tried by `position`; the first that matches and has a rep with capacity wins.
    Within the pool, the rep assigned least recently gets the lead (round-robin).
    """

    name = models.CharField(max_length=150)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    filter = models.JSONField(default=dict, blank=True)
    reps = models.ManyToManyField(User, related_name="+", blank=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "position"], name="assignrule_ws_pos")]
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.name


class ScoringSettings(TenantModel):
    """Per-workspace handoff settings: where notifications and CRM updates go."""

    slack_webhook_url = models.URLField(max_length=500, blank=True, default="")
    crm_webhook_url = models.URLField(max_length=500, blank=True, default="")
    email_notifications = models.BooleanField(default=True)
    task_due_hours = models.PositiveIntegerField(default=24)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace"], name="scoringsettings_unique")]

    def __str__(self) -> str:
        return f"Scoring settings of {self.workspace_id}"


class SalesTask(TenantModel):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    title = models.CharField(max_length=200)
    assignee = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "assignee", "completed_at"], name="salestask_open"),
            models.Index(fields=["workspace", "contact"], name="salestask_contact"),
        ]
        ordering = ["completed_at", "due_at", "pk"]

    def __str__(self) -> str:
        return self.title

    @property
    def is_overdue(self) -> bool:
        return (
            self.completed_at is None and self.due_at is not None and self.due_at < timezone.now()
        )


class Notification(TenantModel):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32)  # lead.assigned, task.assigned …
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True, default="")
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    url = models.CharField(max_length=300, blank=True, default="")
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "user", "-created_at"], name="notif_feed")]
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.title


class LeadActivity(TenantModel):
    """What a rep did on a lead: a call, a note, accept, disqualify, a won deal."""

    class Kind(models.TextChoices):
        NOTE = "note", "Note"
        CALL = "call", "Call"
        ACCEPTED = "accepted", "Accepted"
        DISQUALIFIED = "disqualified", "Disqualified"
        WON = "won", "Won"
        ASSIGNED = "assigned", "Assigned"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    body = models.TextField(blank=True, default="")
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["workspace", "contact", "-created_at"], name="leadact_tl")]
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.body[:40]}"


class Deal(TenantModel):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200, blank=True, default="")
    value = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, default="USD")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    closed_at = models.DateTimeField(null=True, blank=True)
    external_id = models.CharField(max_length=200, blank=True, default="")
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "external_id"],
                condition=~Q(external_id=""),
                name="deal_unique_external_id",
            )
        ]
        indexes = [models.Index(fields=["workspace", "contact"], name="deal_contact")]
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.name or 'Deal'} {self.value} {self.currency}"


class RuleBackfill(TenantModel):
    """Counting a behavioural rule's past events ("rescore from history"), with progress.

    A new rule scores the events that arrive after it is saved; a backfill replays the
    matching events of the last `days` through it in chunks, keyed on (rule, event) like the
    pipeline, so an event is never counted twice — not by a retry, not by a second backfill.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to start"
        RUNNING = "running", "Counting"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    rule = models.ForeignKey(ScoringRule, on_delete=models.CASCADE, related_name="backfills")
    days = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    events_total = models.PositiveIntegerField(default=0)
    events_done = models.PositiveIntegerField(default=0)
    points_added = models.IntegerField(default=0)
    contacts_changed = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True, default="")
    finished_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["workspace", "rule", "-created_at"], name="backfill_rule")]
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"backfill of rule {self.rule_id} over {self.days} days ({self.status})"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(100 * self.events_done / self.events_total) if self.events_total else 0

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.PENDING, self.Status.RUNNING)
