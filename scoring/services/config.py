"""Scoring models, rules, assignment rules and settings: validation and writes.

Everything a user can get wrong comes back as ValidationFailed naming the field; nothing is
half-saved. Changes that alter existing scores (a fit rule's filter, decay, the threshold, a
new primary) schedule a set-based rescore of the model after commit.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from contacts.models import Contact
from workspaces.errors import ValidationFailed
from workspaces.models import Membership, User, Workspace
from workspaces.outbound import services as outbound
from workspaces.outbound.client import url_problem

from ..conditions import dependencies, filter_validate, where_parse
from ..models import (
    AssignmentRule,
    ContactScore,
    DecayMode,
    NegativeSignal,
    RuleKind,
    SalesRep,
    ScoringModel,
    ScoringRule,
    ScoringSettings,
)

MODEL_FIELDS = (
    "name",
    "description",
    "is_primary",
    "is_active",
    "mql_threshold",
    "hysteresis",
    "decay_mode",
    "decay_percent",
    "decay_period_days",
    "expire_after_days",
)
RESCORE_MODEL_FIELDS = {
    "mql_threshold",
    "hysteresis",
    "decay_mode",
    "decay_percent",
    "decay_period_days",
    "expire_after_days",
    "is_active",
}
RULE_FIELDS = (
    "kind",
    "name",
    "is_active",
    "points",
    "event",
    "where",
    "filter",
    "signal",
    "inactive_days",
    "cap_per_day",
    "cap_total",
)
MAX_POINTS = 10_000


def _int(
    data: dict[str, Any],
    name: str,
    low: int,
    high: int,
    errors: dict[str, str],
    *,
    optional: bool = False,
) -> None:
    value = data.get(name)
    if value in (None, "") and optional:
        data[name] = None
        return
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        errors[name] = f"a whole number from {low} to {high}"
    else:
        data[name] = value


def model_clean(
    *, workspace: Workspace, data: dict[str, Any], instance: ScoringModel | None = None
) -> dict[str, Any]:
    merged = (
        {f: getattr(instance, f) for f in MODEL_FIELDS}
        if instance
        else {f: getattr(ScoringModel(), f) for f in MODEL_FIELDS}  # the fields' defaults
    )
    merged.update({k: v for k, v in data.items() if k in MODEL_FIELDS})
    errors: dict[str, str] = {}
    merged["name"] = str(merged.get("name") or "").strip()
    if not merged["name"] or len(merged["name"]) > 120:
        errors["name"] = "required, up to 120 characters"
    elif (
        ScoringModel.objects.for_workspace(workspace)
        .filter(name__iexact=merged["name"])
        .exclude(pk=instance.pk if instance else None)
        .exists()
    ):
        errors["name"] = "another model has this name"
    _int(merged, "mql_threshold", -MAX_POINTS, MAX_POINTS, errors)
    _int(merged, "hysteresis", 0, MAX_POINTS, errors)
    if merged.get("decay_mode") not in DecayMode.values:
        errors["decay_mode"] = f"one of {', '.join(DecayMode.values)}"
    _int(merged, "decay_percent", 0, 99, errors)
    _int(merged, "decay_period_days", 1, 3650, errors)
    _int(merged, "expire_after_days", 1, 3650, errors)
    if (
        merged.get("decay_mode") == DecayMode.PERCENT
        and not errors.get("decay_percent")
        and not merged["decay_percent"]
    ):
        errors["decay_percent"] = "percentage decay needs a percentage from 1 to 99"
    for flag in ("is_primary", "is_active"):
        merged[flag] = bool(merged.get(flag))
    if errors:
        raise ValidationFailed(next(f"{k}: {v}" for k, v in errors.items()), fields=errors)
    return merged


@transaction.atomic
def model_save(
    *, workspace: Workspace, data: dict[str, Any], instance: ScoringModel | None = None
) -> ScoringModel:
    """Create or update a scoring model. The first model of a workspace becomes primary."""
    clean = model_clean(workspace=workspace, data=data, instance=instance)
    before = {f: getattr(instance, f) for f in MODEL_FIELDS} if instance else None
    others = ScoringModel.objects.for_workspace(workspace).exclude(
        pk=instance.pk if instance else None
    )
    if not others.filter(is_primary=True).exists():
        clean["is_primary"] = True
    if clean["is_primary"]:
        others.filter(is_primary=True).update(is_primary=False)
    model = instance or ScoringModel(workspace=workspace)
    for name, value in clean.items():
        setattr(model, name, value)
    try:
        model.save()
    except IntegrityError:
        raise ValidationFailed("Another model has this name.", fields={"name": "taken"})
    became_primary = clean["is_primary"] and (before is None or not before["is_primary"])
    if became_primary:
        _mirror_primary(workspace, model)
    if before is not None and any(before[f] != clean[f] for f in RESCORE_MODEL_FIELDS):
        decay_changed = any(
            before[f] != clean[f]
            for f in ("decay_mode", "decay_percent", "decay_period_days", "expire_after_days")
        )
        _schedule_rescore(workspace, model, decay=decay_changed)
    return model


def _mirror_primary(workspace: Workspace, model: ScoringModel) -> None:
    """Contact.score follows the primary model: copy its scores over in one statement."""
    scores = ContactScore.objects.filter(
        workspace=workspace, model=model, contact_id=OuterRef("pk")
    ).values("score")[:1]
    Contact.objects.for_workspace(workspace).update(score=Coalesce(Subquery(scores), Value(0)))


@transaction.atomic
def model_delete(*, workspace: Workspace, model: ScoringModel) -> None:
    was_primary = model.is_primary
    model.delete()
    if was_primary:
        successor = ScoringModel.objects.for_workspace(workspace).order_by("pk").first()
        if successor is not None:
            successor.is_primary = True
            successor.save(update_fields=["is_primary", "updated_at"])
            _mirror_primary(workspace, successor)
        else:
            Contact.objects.for_workspace(workspace).exclude(score=0).update(score=0)


# --- rules ---------------------------------------------------------------------------------


def rule_clean(
    *,
    workspace: Workspace,
    model: ScoringModel,
    data: dict[str, Any],
    instance: ScoringRule | None = None,
) -> dict[str, Any]:
    merged = (
        {f: getattr(instance, f) for f in RULE_FIELDS}
        if instance
        else {
            "kind": "",
            "name": "",
            "is_active": True,
            "points": None,
            "event": "",
            "where": [],
            "filter": {},
            "signal": "",
            "inactive_days": None,
            "cap_per_day": None,
            "cap_total": None,
        }
    )
    merged.update({k: v for k, v in data.items() if k in RULE_FIELDS})
    errors: dict[str, str] = {}
    kind = merged.get("kind")
    if kind not in RuleKind.values:
        raise ValidationFailed(
            "Choose the kind of rule.", fields={"kind": f"one of {', '.join(RuleKind.values)}"}
        )
    merged["name"] = str(merged.get("name") or "").strip()
    if not merged["name"] or len(merged["name"]) > 150:
        errors["name"] = "required, up to 150 characters"
    _int(merged, "points", -MAX_POINTS, MAX_POINTS, errors)
    if not errors.get("points") and merged["points"] == 0:
        errors["points"] = "must not be zero"
    _int(merged, "cap_per_day", 1, 1_000_000, errors, optional=True)
    _int(merged, "cap_total", 1, 1_000_000, errors, optional=True)
    merged["is_active"] = bool(merged.get("is_active", True))
    for other in ("event", "where", "filter", "signal", "inactive_days"):
        merged.setdefault(other, None)
    getattr(_KIND_CLEANERS, kind)(workspace, merged, errors)
    if errors:
        raise ValidationFailed(next(f"{k}: {v}" for k, v in errors.items()), fields=errors)
    return merged


class _KIND_CLEANERS:  # noqa: N801 — a namespace of per-kind checks
    @staticmethod
    def behavioural(workspace: Workspace, data: dict[str, Any], errors: dict[str, str]) -> None:
        data["event"] = str(data.get("event") or "").strip()
        if not data["event"] or len(data["event"]) > 200:
            errors["event"] = "the event name this rule scores (1-200 characters)"
        data["where"] = data.get("where") or []
        if not errors.get("event"):
            try:
                where_parse(workspace=workspace, event=data["event"], where=data["where"])
            except ValidationFailed as error:
                errors["where"] = error.message
                # Each bad condition by its path too ("where[1].value"), for the builder.
                errors.update(
                    {k: str(v) for k, v in (error.fields or {}).items() if k.startswith("where[")}
                )
        data.update(filter={}, signal="", inactive_days=None)

    @staticmethod
    def fit(workspace: Workspace, data: dict[str, Any], errors: dict[str, str]) -> None:
        tree = data.get("filter")
        if not tree:
            errors["filter"] = (
                'a filter saying who fits, e.g. {"field": "country", "op": "eq", "value": "DE"}'
            )
        else:
            try:
                filter_validate(workspace=workspace, tree=tree)
            except ValidationFailed as error:
                errors["filter"] = error.message
                # Each bad condition by its path too ("filter.all[0].value"), for the builder.
                errors.update(
                    {
                        (f"filter.{k}" if k else "filter"): str(v)
                        for k, v in (error.fields or {}).items()
                        if k
                    }
                )
        data.update(
            event="", where=[], signal="", inactive_days=None, cap_per_day=None, cap_total=None
        )

    @staticmethod
    def negative(workspace: Workspace, data: dict[str, Any], errors: dict[str, str]) -> None:
        signal = data.get("signal")
        if signal not in NegativeSignal.values:
            errors["signal"] = f"one of {', '.join(NegativeSignal.values)}"
        if signal == NegativeSignal.INACTIVE:
            _int(data, "inactive_days", 1, 3650, errors)
        else:
            data["inactive_days"] = None
        if signal != NegativeSignal.BOUNCED:
            data.update(cap_per_day=None, cap_total=None)
        if not errors.get("points") and isinstance(data.get("points"), int) and data["points"] > 0:
            errors["points"] = "a negative signal takes points away (use a negative number)"
        data.update(event="", where=[], filter={})


@transaction.atomic
def rule_save(
    *,
    workspace: Workspace,
    model: ScoringModel,
    data: dict[str, Any],
    instance: ScoringRule | None = None,
) -> ScoringRule:
    clean = rule_clean(workspace=workspace, model=model, data=data, instance=instance)
    before = (instance.state_filter, instance.points, instance.is_active) if instance else None
    rule = instance or ScoringRule(workspace=workspace, model=model)
    for name, value in clean.items():
        setattr(rule, name, value)
    rule.save()
    is_state = bool(rule.state_filter) or rule.is_inactivity_rule
    if is_state and before != (rule.state_filter, rule.points, rule.is_active):
        _schedule_rescore(workspace, model)
    return rule


@transaction.atomic
def rule_delete(*, workspace: Workspace, rule: ScoringRule) -> None:
    """Deleting a state rule releases what it holds; earned behavioural points stay earned."""
    model = rule.model
    was_state = bool(rule.state_filter) or rule.is_inactivity_rule
    rule.is_active = False
    rule.save(update_fields=["is_active", "updated_at"])
    if was_state:
        from .rescore import model_rescore

        model_rescore(workspace=workspace, model=model)
    rule.delete()


def models_rescore_reading(*, workspace: Workspace, fields: set[str]) -> list[int]:
    """Schedule a rescore of every model with an active state rule that reads one of
    `fields` (a prediction model's, after it scored); returns the models' ids."""

    models: dict[int, ScoringModel] = {}
    rules = ScoringRule.objects.for_workspace(workspace).filter(is_active=True)
    for rule in rules.select_related("model"):
        if rule.state_filter and dependencies(rule.state_filter).fields & fields:
            models[rule.model_id] = rule.model
    for model in models.values():
        _schedule_rescore(workspace, model)
    return sorted(models)


def _schedule_rescore(workspace: Workspace, model: ScoringModel, *, decay: bool = False) -> None:
    from ..tasks import model_rescore_task

    transaction.on_commit(lambda: model_rescore_task.delay(workspace.pk, model.pk, decay))


# --- handoff settings -------------------------------------------------------------------------


def assignment_rule_save(
    *, workspace: Workspace, data: dict[str, Any], instance: AssignmentRule | None = None
) -> AssignmentRule:
    errors: dict[str, str] = {}
    name = str(data.get("name") or "").strip()
    if not name or len(name) > 150:
        errors["name"] = "required, up to 150 characters"
    tree = data.get("filter") or {}
    if tree:
        try:
            filter_validate(workspace=workspace, tree=tree)
        except ValidationFailed as error:
            errors["filter"] = error.message
    rep_ids = [int(r) for r in data.get("reps") or [] if str(r).isdigit()]
    members = set(
        Membership.objects.for_workspace(workspace)
        .filter(user_id__in=rep_ids)
        .values_list("user_id", flat=True)
    )
    if not rep_ids:
        errors["reps"] = "choose at least one rep"
    elif set(rep_ids) - members:
        errors["reps"] = "every rep must be a member of this workspace"
    position = str(data.get("position", instance.position if instance else "") or "")
    if not position:
        position = str(AssignmentRule.objects.for_workspace(workspace).count())
    if not position.isdigit():
        errors["position"] = "a whole number from 0"
    if errors:
        raise ValidationFailed(next(f"{k}: {v}" for k, v in errors.items()), fields=errors)
    with transaction.atomic():
        rule = instance or AssignmentRule(workspace=workspace)
        rule.name, rule.filter, rule.position = name, tree, int(position)
        rule.is_active = bool(data.get("is_active", True))
        rule.save()
        rule.reps.set(User.objects.filter(pk__in=members))
    return rule


def rep_capacity_set(
    *, workspace: Workspace, user: User, max_open_leads: int | None, is_available: bool = True
) -> SalesRep:
    if not Membership.objects.for_workspace(workspace).filter(user=user).exists():
        raise ValidationFailed("Not a member of this workspace.", fields={"user": "not a member"})
    if max_open_leads is not None and (not isinstance(max_open_leads, int) or max_open_leads < 0):
        raise ValidationFailed(
            "Capacity is a whole number from 0.", fields={"max_open_leads": "0 or more"}
        )
    rep, _ = SalesRep.objects.get_or_create(workspace=workspace, user=user)
    rep.max_open_leads, rep.is_available = max_open_leads, is_available
    rep.save(update_fields=["max_open_leads", "is_available", "updated_at"])
    return rep


@transaction.atomic
def settings_save(*, workspace: Workspace, data: dict[str, Any]) -> ScoringSettings:
    from .handoff import scoring_settings

    current = scoring_settings(workspace=workspace)
    errors: dict[str, str] = {}
    for name in ("slack_webhook_url", "crm_webhook_url"):
        if name in data:
            url = str(data.get(name) or "").strip()
            if url:
                problem = url_problem(url) or (
                    "must be at most 500 characters" if len(url) > 500 else None
                )
                if problem:
                    errors[name] = problem
            setattr(current, name, url)
    if "email_notifications" in data:
        current.email_notifications = bool(data["email_notifications"])
    if "task_due_hours" in data:
        value = data["task_due_hours"]
        if not str(value).isdigit() or not 1 <= int(value) <= 24 * 90:
            errors["task_due_hours"] = "from 1 to 2160 hours"
        else:
            current.task_due_hours = int(value)
    if errors:
        raise ValidationFailed(next(f"{k}: {v}" for k, v in errors.items()), fields=errors)
    current.save()
    _endpoints_sync(workspace=workspace, current=current)
    return current


def _endpoints_sync(*, workspace: Workspace, current: ScoringSettings) -> None:
    """The Slack and CRM URLs are webhook endpoints (each with its own signing secret,
    health and delivery log); a cleared URL removes its endpoint."""
    for source, kind, name, url in (
        ("scoring.slack", "slack", "Slack (new MQLs)", current.slack_webhook_url),
        ("scoring.crm", "crm", "CRM (lifecycle)", current.crm_webhook_url),
    ):
        if url:
            outbound.endpoint_ensure(
                workspace=workspace, source=source, kind=kind, name=name, url=url
            )
        else:
            outbound.endpoint_remove(workspace=workspace, source=source)
