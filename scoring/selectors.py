"""Reads of the scoring app: scores corrected on read, breakdowns, history, the leads list.

Correction on read: a stored score is exact until its row's `valid_until`. A row past it
(its refresh has not run yet) is recomputed here from its live ledger entries — the same
arithmetic as the refresh — so a page never shows a score that decay has already changed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from contacts.models import Contact, Event, LifecycleStage
from workspaces.errors import ValidationFailed
from workspaces.models import User, Workspace

from .decay import DecayPolicy, round_score
from .models import (
    ContactScore,
    LeadActivity,
    Notification,
    RuleBackfill,
    SalesTask,
    ScoreChange,
    ScoringModel,
    ScoringRule,
)


def primary_model(*, workspace: Workspace) -> ScoringModel | None:
    return ScoringModel.objects.for_workspace(workspace).filter(is_primary=True).first()


def model_list(*, workspace: Workspace) -> QuerySet[ScoringModel]:
    return ScoringModel.objects.for_workspace(workspace).annotate(rule_count=Count("rules"))


def rule_list(*, workspace: Workspace, model: ScoringModel) -> QuerySet[ScoringRule]:
    return ScoringRule.objects.for_workspace(workspace).filter(model=model)


# --- scores, corrected on read ---------------------------------------------------------------


def scores_corrected(
    *,
    workspace: Workspace,
    model: ScoringModel,
    contact_ids: list[int],
    now: datetime | None = None,
) -> dict[int, int]:
    """Current scores under `model` of these contacts (0 for never scored). Two queries."""
    now = now or timezone.now()
    rows = {
        row.contact_id: row
        for row in ContactScore.objects.for_workspace(workspace).filter(
            model=model, contact_id__in=contact_ids
        )
    }
    scores = {c: (rows[c].score if c in rows else 0) for c in contact_ids}
    stale = [c for c, row in rows.items() if row.valid_until is not None and row.valid_until <= now]
    if stale:
        live = _live_entries(workspace, model, stale, now)
        policy = DecayPolicy.of(model)
        for contact_id in stale:
            row = rows[contact_id]
            scores[contact_id] = round_score(
                row.state_points + policy.total(live.get(contact_id, []), now)
            )
    return scores


def _live_entries(
    workspace: Workspace, model: ScoringModel, contact_ids: list[int], now: datetime
) -> dict[int, list[tuple[int, datetime]]]:
    live: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
    rows = (
        ScoreChange.objects.for_workspace(workspace)
        .filter(model=model, contact_id__in=contact_ids, decays=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .values_list("contact_id", "points", "at")
    )
    for contact_id, points, at in rows:
        live[contact_id].append((points, at))
    return live


def score_current(
    *, workspace: Workspace, contact: Contact, model: ScoringModel | None = None
) -> int:
    model = model or primary_model(workspace=workspace)
    if model is None:
        return contact.score
    return scores_corrected(workspace=workspace, model=model, contact_ids=[contact.pk])[contact.pk]


@dataclass
class RuleBreakdown:
    label: str
    kind: str
    rule_id: int | None
    entries: int
    awarded: int  # points as earned
    current: float  # worth now, after decay / reversal

    @property
    def decayed(self) -> float:
        return self.awarded - self.current

    @property
    def is_active(self) -> bool:
        return round(self.current) != 0


def score_breakdown(
    *, workspace: Workspace, contact: Contact, model: ScoringModel, now: datetime | None = None
) -> list[RuleBreakdown]:
    """Why this score: points by rule (or by reason, for manual/workflow points), with what
    each is worth now. State rules show what is held now (earned − released)."""
    now = now or timezone.now()
    policy = DecayPolicy.of(model)
    groups: dict[Any, RuleBreakdown] = {}
    entries = (
        ScoreChange.objects.for_workspace(workspace)
        .filter(model=model, contact=contact)
        .select_related("rule")
        .order_by("at", "pk")
    )
    for entry in entries:
        key = entry.rule_id or f"{entry.source}:{entry.reason}"
        label = entry.rule.name if entry.rule else entry.reason
        kind = entry.rule.kind if entry.rule else entry.source
        group = groups.setdefault(key, RuleBreakdown(label, kind, entry.rule_id, 0, 0, 0.0))
        value = policy.value(entry.points, entry.at, now) if entry.decays else float(entry.points)
        group.entries += 1
        group.awarded += entry.points if entry.decays or entry.points > 0 else 0
        group.current += value
    return sorted(groups.values(), key=lambda g: (-abs(g.current), -abs(g.awarded), g.label))


def score_changes(
    *, workspace: Workspace, contact: Contact, model: ScoringModel, limit: int = 50
) -> QuerySet[ScoreChange]:
    return (
        ScoreChange.objects.for_workspace(workspace)
        .filter(model=model, contact=contact)
        .select_related("rule")
        .order_by("-at", "-pk")[:limit]
    )


def score_over_time(
    *,
    workspace: Workspace,
    contact: Contact,
    model: ScoringModel,
    days: int = 60,
    now: datetime | None = None,
) -> tuple[list[str], list[int]]:
    """The score at the end of each of the last `days` days, replayed from the ledger with
    the model's decay: decay shows as the slope it really was."""
    now = now or timezone.now()
    policy = DecayPolicy.of(model)
    entries = list(
        ScoreChange.objects.for_workspace(workspace)
        .filter(model=model, contact=contact)
        .order_by("at")
        .values_list("points", "at", "decays")
    )
    labels, values = [], []
    for offset in range(days - 1, -1, -1):
        moment = now - timedelta(days=offset)
        total = 0.0
        for points, at, decays in entries:
            if at <= moment:
                total += policy.value(points, at, moment) if decays else points
        labels.append(timezone.localtime(moment).strftime("%b %d"))
        values.append(round_score(total))
    return labels, values


# --- the distribution of scores (analytics' panel) ---------------------------------------------

SCORE_BUCKET_WIDTH = 10
SCORE_BUCKET_TOP = 100  # one bucket for 100 and above


@dataclass(frozen=True)
class ScoreBucket:
    label: str
    low: int | None  # inclusive; None: no lower bound
    high: int | None  # inclusive; None: no upper bound
    contacts: int


@dataclass(frozen=True)
class ScoreDistribution:
    buckets: list[ScoreBucket]
    model: str | None  # the primary model's name (Contact.score is its score)
    threshold: int | None  # its MQL threshold
    at_or_above_threshold: int
    contacts: int


def _score_bounds() -> list[tuple[str, int | None, int | None]]:
    """Below 0, exactly 0 (never scored, or back to nothing), 1–9, 10–19 … 90–99, 100+."""
    bounds: list[tuple[str, int | None, int | None]] = [("below 0", None, -1), ("0", 0, 0)]
    for low in range(0, SCORE_BUCKET_TOP, SCORE_BUCKET_WIDTH):
        first = max(low, 1)
        bounds.append(
            (f"{first}–{low + SCORE_BUCKET_WIDTH - 1}", first, low + SCORE_BUCKET_WIDTH - 1)
        )
    bounds.append((f"{SCORE_BUCKET_TOP}+", SCORE_BUCKET_TOP, None))
    return bounds


def score_distribution(*, workspace: Workspace) -> ScoreDistribution:
    """How many contacts have each lead score (the primary model's, as Contact.score keeps it),
    in buckets, and how many are at or above its MQL threshold. Two queries."""
    model = primary_model(workspace=workspace)
    threshold = model.mql_threshold if model else None
    bounds = _score_bounds()
    counts: dict[str, Any] = {}
    for i, (_, low, high) in enumerate(bounds):
        match = Q()
        if low is not None:
            match &= Q(score__gte=low)
        if high is not None:
            match &= Q(score__lte=high)
        counts[f"b{i}"] = Count("id", filter=match)
    counts["qualified"] = Count(
        "id", filter=Q(score__gte=threshold if threshold is not None else 0)
    )
    counts["total"] = Count("id")
    row = Contact.objects.for_workspace(workspace).aggregate(**counts)
    return ScoreDistribution(
        buckets=[
            ScoreBucket(label=label, low=low, high=high, contacts=row[f"b{i}"])
            for i, (label, low, high) in enumerate(bounds)
        ],
        model=model.name if model else None,
        threshold=threshold,
        at_or_above_threshold=row["qualified"] if threshold is not None else 0,
        contacts=row["total"],
    )


# --- the leads list ------------------------------------------------------------------------------

OPEN_STAGES = (LifecycleStage.LEAD, LifecycleStage.MQL, LifecycleStage.SQL)
STAGE_FILTERS = {
    "open": OPEN_STAGES,
    "mql": (LifecycleStage.MQL,),
    "sql": (LifecycleStage.SQL,),
    "lead": (LifecycleStage.LEAD,),
    "customer": (LifecycleStage.CUSTOMER,),
    "other": (LifecycleStage.OTHER,),
    "subscriber": (LifecycleStage.SUBSCRIBER,),
    "all": (),
}
OWNER_FILTERS = ("all", "mine", "unassigned")


@dataclass
class LeadFilters:
    stage: str = "open"
    owner: str = "all"  # all | mine | unassigned | <user id>
    min_score: int | None = None
    max_score: int | None = None
    active_days: int | None = None  # last activity within N days
    inactive_days: int | None = None  # no activity for N days
    q: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_params(cls, params: Mapping[str, Any], *, strict: bool = True) -> LeadFilters:
        """Read query parameters. Bad ones raise ValidationFailed naming them (or, with
        strict=False, are dropped and listed in `errors` for the page to show)."""
        found = cls()
        errors: dict[str, str] = {}
        stage = params.get("stage") or "open"
        if stage in STAGE_FILTERS:
            found.stage = stage
        else:
            errors["stage"] = f"one of {', '.join(STAGE_FILTERS)}"
        owner = params.get("owner") or "all"
        if owner in OWNER_FILTERS or str(owner).isdigit():
            found.owner = owner
        else:
            errors["owner"] = "all, mine, unassigned or a user id"
        for name in ("min_score", "max_score", "active_days", "inactive_days"):
            raw = params.get(name)
            if raw in (None, ""):
                continue
            try:
                setattr(found, name, int(str(raw)))
            except ValueError:
                errors[name] = "a whole number"
        if (
            found.min_score is not None
            and found.max_score is not None
            and found.min_score > found.max_score
        ):
            errors["max_score"] = "must be at least min_score"
        for name in ("active_days", "inactive_days"):
            value = getattr(found, name)
            if value is not None and not 0 < value <= 3650:
                errors[name] = "from 1 to 3650 days"
                setattr(found, name, None)
        found.q = str(params.get("q") or "").strip()[:100]
        if errors and strict:
            raise ValidationFailed(next(f"{k}: {v}" for k, v in errors.items()), fields=errors)
        found.errors = errors
        return found


def lead_queryset(
    *, workspace: Workspace, filters: LeadFilters, user: User | None, now: datetime | None = None
) -> QuerySet[Contact]:
    """Contacts matching the filters, best first. Annotated with the primary model's
    `score_valid_until` (for correction on read) and `last_activity`."""
    now = now or timezone.now()
    contacts = Contact.objects.for_workspace(workspace).select_related("owner")
    stages = STAGE_FILTERS[filters.stage]
    if stages:
        contacts = contacts.filter(lifecycle_stage__in=stages)
    if filters.owner == "mine":
        contacts = contacts.filter(owner=user)
    elif filters.owner == "unassigned":
        contacts = contacts.filter(owner__isnull=True)
    elif filters.owner.isdigit():
        contacts = contacts.filter(owner_id=int(filters.owner))
    if filters.min_score is not None:
        contacts = contacts.filter(score__gte=filters.min_score)
    if filters.max_score is not None:
        contacts = contacts.filter(score__lte=filters.max_score)
    if filters.active_days:
        contacts = contacts.filter(last_seen_at__gte=now - timedelta(days=filters.active_days))
    if filters.inactive_days:
        contacts = contacts.filter(
            Q(last_seen_at__lt=now - timedelta(days=filters.inactive_days))
            | Q(last_seen_at__isnull=True)
        )
    if filters.q:
        contacts = contacts.filter(
            Q(email__icontains=filters.q)
            | Q(first_name__icontains=filters.q)
            | Q(last_name__icontains=filters.q)
            | Q(company__icontains=filters.q)
        )
    model = primary_model(workspace=workspace)
    if model is not None:
        rows = ContactScore.objects.filter(
            workspace=workspace, model=model, contact_id=OuterRef("pk")
        )
        contacts = contacts.annotate(score_valid_until=Subquery(rows.values("valid_until")[:1]))
    return contacts.order_by("-score", "-last_seen_at", "-pk")


def leads_correct(
    *, workspace: Workspace, contacts: list[Contact], now: datetime | None = None
) -> list[Contact]:
    """Correct on read the page's stale scores (decay due but not yet refreshed)."""
    now = now or timezone.now()
    stale = [
        c.pk
        for c in contacts
        if getattr(c, "score_valid_until", None) is not None and c.score_valid_until <= now  # type: ignore[attr-defined]
    ]
    if stale:
        model = primary_model(workspace=workspace)
        if model is not None:
            fresh = scores_corrected(workspace=workspace, model=model, contact_ids=stale, now=now)
            for contact in contacts:
                if contact.pk in fresh:
                    contact.score = fresh[contact.pk]
    return contacts


def lead_page(
    *,
    workspace: Workspace,
    filters: LeadFilters,
    user: User | None,
    page: Any = 1,
    per_page: int = 50,
) -> Page:
    paginator = Paginator(lead_queryset(workspace=workspace, filters=filters, user=user), per_page)
    result = paginator.get_page(page)
    result.object_list = leads_correct(workspace=workspace, contacts=list(result.object_list))
    return result


def hot_leads(*, workspace: Workspace, hours: int = 24, limit: int = 10) -> list[ContactScore]:
    """Contacts whose primary score rose most recently (newest first), for the live feed."""
    model = primary_model(workspace=workspace)
    if model is None:
        return []
    since = timezone.now() - timedelta(hours=hours)
    # The newest positive ledger entries (the ledger's (workspace, model, at) index, read
    # backwards) name the contacts; their rows give the current score and latest rise.
    recent = (
        ScoreChange.objects.for_workspace(workspace)
        .filter(model=model, at__gte=since, points__gt=0)
        .order_by("-at", "-pk")
        .values_list("contact_id", flat=True)[: limit * 20]
    )
    order = list(dict.fromkeys(recent))[:limit]
    rows = (
        ContactScore.objects.for_workspace(workspace)
        .filter(model=model, contact_id__in=order, last_delta__gt=0)
        .select_related("contact", "contact__owner")
    )
    by_contact = {row.contact_id: row for row in rows}
    return [by_contact[c] for c in order if c in by_contact]


# --- a lead's context -------------------------------------------------------------------------

QUIET = (
    "score.",
    "lifecycle.",
    "segment.",
    "workflow.",
    "lead.",
    "deal.",
    "sms.sent",
    "sms.delivered",
)
QUIET_EMAIL = ("email.sent", "email.delivered", "email.bounced", "email.complained")


def lead_context(
    *, workspace: Workspace, contact: Contact, days: int = 30, limit: int = 5
) -> list[str]:
    """What the contact did lately, in words: "visited pricing 3×", "opened 4 emails",
    "requested demo" — the most frequent first. One query."""
    since = timezone.now() - timedelta(days=days)
    rows = (
        Event.objects.for_workspace(workspace)
        .filter(contact=contact, timestamp__gte=since)
        .exclude(type__in=["identify", "alias", "group"])
        .values_list("type", "name")
        .annotate(n=Count("pk"))
        .order_by("-n", "name")[:50]
    )
    facts: list[str] = []
    for kind, name, count in rows:
        if name.startswith(QUIET) or name in QUIET_EMAIL:
            continue
        facts.append(_fact(kind, name, count))
        if len(facts) == limit:
            break
    return facts


def _fact(kind: str, name: str, count: int) -> str:
    times = f" {count}×" if count > 1 else ""
    plural = "s" if count != 1 else ""
    if name == "email.opened":
        return f"opened {count} email{plural}"
    if name == "email.clicked":
        return f"clicked {count} email link{plural}"
    if name == "sms.replied":
        return f"replied to {count} SMS"
    if kind in ("page", "screen"):
        return (
            f"visited {name.lower() or 'the site'}{times}"
            if name
            else f"viewed {count} page{plural}"
        )
    return f"{name.lower()}{times}"


# --- lead page bits ----------------------------------------------------------------------------


def lead_tasks(*, workspace: Workspace, contact: Contact) -> QuerySet[SalesTask]:
    return (
        SalesTask.objects.for_workspace(workspace)
        .filter(contact=contact)
        .select_related("assignee")
        .order_by("completed_at", "due_at", "pk")
    )


def lead_activities(
    *, workspace: Workspace, contact: Contact, limit: int = 30
) -> QuerySet[LeadActivity]:
    return (
        LeadActivity.objects.for_workspace(workspace)
        .filter(contact=contact)
        .select_related("actor")[:limit]
    )


def rule_backfill_latest(*, workspace: Workspace, rule: ScoringRule) -> RuleBackfill | None:
    return RuleBackfill.objects.for_workspace(workspace).filter(rule=rule).first()


def lead_disqualification(*, workspace: Workspace, contact: Contact) -> LeadActivity | None:
    """Why and when the lead was disqualified, while it still is (stage "other")."""
    if contact.lifecycle_stage != LifecycleStage.OTHER:
        return None
    return (
        LeadActivity.objects.for_workspace(workspace)
        .filter(contact=contact, kind=LeadActivity.Kind.DISQUALIFIED)
        .select_related("actor")
        .order_by("-created_at", "-id")
        .first()
    )


def notifications_for(
    *, workspace: Workspace, user: User, limit: int = 30
) -> QuerySet[Notification]:
    return (
        Notification.objects.for_workspace(workspace)
        .filter(user=user)
        .select_related("contact")[:limit]
    )


def notifications_unread(*, workspace: Workspace, user: User) -> int:
    return (
        Notification.objects.for_workspace(workspace)
        .filter(user=user, read_at__isnull=True)
        .count()
    )


def my_open_tasks(*, workspace: Workspace, user: User, limit: int = 20) -> QuerySet[SalesTask]:
    return (
        SalesTask.objects.for_workspace(workspace)
        .filter(assignee=user, completed_at__isnull=True)
        .select_related("contact")
        .order_by("due_at", "pk")[:limit]
    )
