"""Setting scoring up: models and their rules (EDIT_MARKETING), lead routing (EDIT_MARKETING)
and the Slack / CRM webhooks (MANAGE_WORKSPACE). Forms post plain fields; the services
validate, and a rejected form comes back with each message next to its field (400)."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from contacts import selectors as contact_selectors
from scoring import selectors
from scoring.models import (
    AssignmentRule,
    DecayMode,
    NegativeSignal,
    RuleKind,
    SalesRep,
    ScoringModel,
    ScoringRule,
)
from scoring.services import backfill, config, scoring_settings
from segments.selectors import condition_builder, condition_from_form
from workspaces.errors import ValidationFailed
from workspaces.htmx import HtmxHttpRequest
from workspaces.models import Membership
from workspaces.outbound.selectors import endpoint_get
from workspaces.roles import Capability
from workspaces.scoping import scoped, workspace_view

MARKETING = Capability.EDIT_MARKETING
MANAGE = Capability.MANAGE_WORKSPACE


def _can(request: HttpRequest, capability: Capability) -> bool:
    return request.membership.can(capability)  # type: ignore[attr-defined,no-any-return]


def _json_field(raw: str, name: str, empty: Any) -> Any:
    if not raw.strip():
        return empty
    try:
        return json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValidationFailed(
            f"{name}: not valid JSON ({error.msg} at line {error.lineno})",
            fields={name: f"not valid JSON: {error.msg}"},
        )


# --- models ----------------------------------------------------------------------------------


@workspace_view
def model_list(request: HttpRequest) -> HttpResponse:
    models = selectors.model_list(workspace=request.workspace)  # type: ignore[attr-defined]
    return render(
        request,
        "scoring/models.html",
        {"models": models, "can_edit": _can(request, MARKETING)},
    )


def _model_data(post: Any) -> dict[str, Any]:
    data = {
        name: post.get(name, "")
        for name in config.MODEL_FIELDS
        if name not in ("is_primary", "is_active")
    }
    data["is_primary"] = post.get("is_primary") == "on"
    data["is_active"] = post.get("is_active") == "on"
    return data


@workspace_view(write=MARKETING)
def model_edit(request: HttpRequest, model_id: int | None = None) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    instance = get_object_or_404(scoped(request, ScoringModel), pk=model_id) if model_id else None
    values: dict[str, Any] = (
        {f: getattr(instance, f) for f in config.MODEL_FIELDS}
        if instance
        else {
            "name": "",
            "mql_threshold": 50,
            "hysteresis": 10,
            "decay_mode": "none",
            "decay_percent": 10,
            "decay_period_days": 30,
            "expire_after_days": 90,
            "is_active": True,
            "is_primary": False,
            "description": "",
        }
    )
    errors: dict[str, Any] = {}
    if request.method == "POST":
        values = _model_data(request.POST)
        try:
            model = config.model_save(workspace=workspace, data=values, instance=instance)
        except ValidationFailed as error:
            errors = error.fields or {"form": error.message}
        else:
            messages.success(request, f"Scoring model “{model.name}” saved.")
            return redirect("scoring:model", model.pk)
    context = {
        "instance": instance,
        "values": values,
        "errors": errors,
        "decay_modes": DecayMode.choices,
        "rules": selectors.rule_list(workspace=workspace, model=instance) if instance else [],
        "kinds": RuleKind.choices,
        "can_edit": _can(request, MARKETING),
    }
    return render(request, "scoring/model_edit.html", context, status=400 if errors else 200)


@workspace_view(write=MARKETING)
@require_POST
def model_delete(request: HttpRequest, model_id: int) -> HttpResponse:
    model = get_object_or_404(scoped(request, ScoringModel), pk=model_id)
    config.model_delete(workspace=request.workspace, model=model)  # type: ignore[attr-defined]
    messages.success(request, f"Scoring model “{model.name}” deleted.")
    return redirect("scoring:models")


# --- rules ----------------------------------------------------------------------------------------


def _rule_data(request: HttpRequest, post: Any) -> dict[str, Any]:
    """The rule the form describes. Conditions come from the condition builder's fields:
    the fit filter is the whole tree; a behaviour is the one event node and its `where`."""
    data: dict[str, Any] = {
        name: post.get(name, "")
        for name in (
            "kind",
            "name",
            "points",
            "signal",
            "inactive_days",
            "cap_per_day",
            "cap_total",
        )
    }
    data["is_active"] = post.get("is_active") == "on"
    data["event"], data["where"], data["filter"] = "", [], {}
    # Conditions carry over only from the builder of the same kind (after a kind switch the
    # form still holds the other kind's builder).
    wanted = {RuleKind.FIT: "segment", RuleKind.BEHAVIOURAL: "event_where"}.get(data["kind"])
    if "n.kind" not in post or post.get("builder_mode") != wanted:
        return data
    tree = condition_from_form(workspace=request.workspace, data=post)  # type: ignore[attr-defined]
    if data["kind"] == RuleKind.FIT:
        data["filter"] = tree
    elif data["kind"] == RuleKind.BEHAVIOURAL:
        first = next(iter(tree.get("all") or tree.get("any") or []), {})
        data["event"] = first.get("event", "") if isinstance(first, dict) else ""
        data["where"] = first.get("where", []) if isinstance(first, dict) else []
    return data


_NEW_RULE: dict[str, Any] = {
    "name": "",
    "points": 10,
    "event": "",
    "where": [],
    "filter": {},
    "signal": "",
    "inactive_days": "",
    "cap_per_day": "",
    "cap_total": "",
    "is_active": True,
}


def _rule_builder(request: HttpRequest, values: dict[str, Any], errors: dict[str, Any]) -> Any:
    """The condition builder for the rule's kind: who fits, or the event and its properties."""
    workspace = request.workspace  # type: ignore[attr-defined]
    if values["kind"] == RuleKind.FIT:
        placed = {
            key[len("filter.") :]: v for key, v in errors.items() if key.startswith("filter.")
        }
        tree = values.get("filter") or {"all": []}
        return condition_builder(workspace=workspace, tree=tree, errors=placed)
    if values["kind"] == RuleKind.BEHAVIOURAL:
        placed = {f"all[0].{key}": v for key, v in errors.items() if key.startswith("where[")}
        if errors.get("event"):
            placed["all[0].event"] = errors["event"]
        event = {"event": values.get("event") or "", "where": values.get("where") or []}
        return condition_builder(
            workspace=workspace, tree={"all": [event]}, errors=placed, mode="event_where"
        )
    return None


@workspace_view(write=MARKETING)
def rule_edit(request: HttpRequest, model_id: int, rule_id: int | None = None) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    model = get_object_or_404(scoped(request, ScoringModel), pk=model_id)
    rule = (
        get_object_or_404(scoped(request, ScoringRule), pk=rule_id, model=model)
        if rule_id
        else None
    )
    if "points" in request.GET:  # the kind changed: the form again, for the new kind
        values = _rule_data(request, request.GET)
    elif rule:
        values = {f: getattr(rule, f) for f in config.RULE_FIELDS}
    else:
        values = {**_NEW_RULE, "kind": request.GET.get("kind", RuleKind.BEHAVIOURAL)}
    if values.get("kind") not in RuleKind.values:
        values["kind"] = RuleKind.BEHAVIOURAL
    errors: dict[str, Any] = {}
    rule_before = (rule.event, rule.where, rule.points, rule.is_active) if rule else None
    if request.method == "POST":
        values = _rule_data(request, request.POST)
        try:
            saved = config.rule_save(workspace=workspace, model=model, data=values, instance=rule)
        except ValidationFailed as error:
            errors = error.fields or {"form": error.message}
            if values.get("kind") not in RuleKind.values:
                values["kind"] = RuleKind.BEHAVIOURAL
        else:
            messages.success(request, f"Rule “{saved.name}” saved.")
            if _scores_new_events(saved, rule_before):
                # It scores what arrives from now on; offer to count what already happened.
                return redirect("scoring:rule_history", model.pk, saved.pk)
            return redirect("scoring:model", model.pk)
    context = {
        "model": model,
        "rule": rule,
        "values": values,
        "builder": _rule_builder(request, values, errors),
        "errors": errors,
        "kinds": RuleKind.choices,
        "signals": NegativeSignal.choices,
    }
    return render(request, "scoring/rule_edit.html", context, status=400 if errors else 200)


def _scores_new_events(rule: ScoringRule, before: tuple[Any, ...] | None) -> bool:
    """A new or changed event rule, switched on: past events are worth offering to count."""
    now = (rule.event, rule.where, rule.points, rule.is_active)
    return rule.is_event_rule and rule.is_active and rule.model.is_active and now != before


@workspace_view(write=MARKETING)
def rule_history(request: HtmxHttpRequest, model_id: int, rule_id: int) -> HttpResponse:
    """Count a behavioural rule's past events: what it would change, then progress."""
    workspace = request.workspace  # type: ignore[attr-defined]
    model = get_object_or_404(scoped(request, ScoringModel), pk=model_id)
    rule = get_object_or_404(scoped(request, ScoringRule), pk=rule_id, model=model)
    latest = selectors.rule_backfill_latest(workspace=workspace, rule=rule)
    if request.htmx and request.GET.get("part") == "progress":
        return render(request, "scoring/rule_history.html#progress", {"backfill": latest})
    error = ""
    raw_days = request.POST.get("days") or request.GET.get("days") or ""
    days = int(raw_days) if raw_days.isdigit() else backfill.DEFAULT_DAYS
    if request.method == "POST":
        try:
            latest = backfill.rule_backfill_start(
                workspace=workspace,
                rule=rule,
                days=days,
                actor=request.user,  # type: ignore[arg-type]
            )
        except ValidationFailed as failure:
            error = failure.message
        else:
            return redirect(f"{request.path}?days={days}")
    estimate = None
    if not error:
        try:
            estimate = backfill.rule_backfill_estimate(workspace=workspace, rule=rule, days=days)
        except ValidationFailed as failure:
            error = failure.message
    context = {
        "model": model,
        "rule": rule,
        "days": days,
        "windows": backfill.WINDOWS,
        "estimate": estimate,
        "backfill": latest,
        "error": error,
    }
    return render(request, "scoring/rule_history.html", context, status=400 if error else 200)


@workspace_view(write=MARKETING)
@require_POST
def rule_delete(request: HttpRequest, model_id: int, rule_id: int) -> HttpResponse:
    model = get_object_or_404(scoped(request, ScoringModel), pk=model_id)
    rule = get_object_or_404(scoped(request, ScoringRule), pk=rule_id, model=model)
    config.rule_delete(workspace=request.workspace, rule=rule)  # type: ignore[attr-defined]
    messages.success(request, f"Rule “{rule.name}” deleted.")
    return redirect("scoring:model", model.pk)


# --- routing -------------------------------------------------------------------------------------


@workspace_view(write=MARKETING)
def routing(request: HttpRequest) -> HttpResponse:
    """Assignment rules (first match wins) and each rep's capacity."""
    workspace = request.workspace  # type: ignore[attr-defined]
    errors: dict[str, Any] = {}
    values: dict[str, Any] = {"name": "", "filter": "", "reps": []}
    if request.method == "POST":
        action = request.POST.get("action", "rule")
        try:
            if action == "capacity":
                _capacity_save(request)
                messages.success(request, "Capacity saved.")
            else:
                values = {
                    "name": request.POST.get("name", ""),
                    "filter": request.POST.get("filter", ""),
                    "reps": request.POST.getlist("reps"),
                }
                rule_id = request.POST.get("rule_id")
                instance = (
                    get_object_or_404(scoped(request, AssignmentRule), pk=rule_id)
                    if rule_id
                    else None
                )
                config.assignment_rule_save(
                    workspace=workspace,
                    data={**values, "filter": _json_field(values["filter"], "filter", {})},
                    instance=instance,
                )
                messages.success(request, "Assignment rule saved.")
            return redirect("scoring:routing")
        except ValidationFailed as error:
            errors = error.fields or {"form": error.message}
    members = list(scoped(request, Membership).select_related("user").order_by("user__email"))
    reps = {r.user_id: r for r in scoped(request, SalesRep)}
    context = {
        "rules": scoped(request, AssignmentRule).prefetch_related("reps"),
        "members": [(m, reps.get(m.user_id)) for m in members],
        "owners": contact_selectors.owner_choices(workspace=workspace),
        "values": values,
        "errors": errors,
        "can_edit": _can(request, MARKETING),
    }
    return render(request, "scoring/routing.html", context, status=400 if errors else 200)


def _capacity_save(request: HttpRequest) -> None:
    membership = get_object_or_404(
        scoped(request, Membership).select_related("user"), user_id=request.POST.get("user")
    )
    raw = request.POST.get("max_open_leads", "").strip()
    if raw and not raw.isdigit():
        raise ValidationFailed(
            "Capacity is a whole number.", fields={"max_open_leads": "a whole number"}
        )
    config.rep_capacity_set(
        workspace=request.workspace,  # type: ignore[attr-defined]
        user=membership.user,
        max_open_leads=int(raw) if raw else None,
        is_available=request.POST.get("is_available") == "on",
    )


@workspace_view(write=MARKETING)
@require_POST
def routing_rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_object_or_404(scoped(request, AssignmentRule), pk=rule_id)
    rule.delete()
    messages.success(request, f"Assignment rule “{rule.name}” deleted.")
    return redirect("scoring:routing")


# --- integrations ---------------------------------------------------------------------------------


@workspace_view(write=MANAGE)
def integrations(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    current = scoring_settings(workspace=workspace)
    errors: dict[str, Any] = {}
    values: dict[str, Any] = {
        "slack_webhook_url": current.slack_webhook_url,
        "crm_webhook_url": current.crm_webhook_url,
        "email_notifications": current.email_notifications,
        "task_due_hours": current.task_due_hours,
    }
    if request.method == "POST":
        values = {
            "slack_webhook_url": request.POST.get("slack_webhook_url", ""),
            "crm_webhook_url": request.POST.get("crm_webhook_url", ""),
            "email_notifications": request.POST.get("email_notifications") == "on",
            "task_due_hours": request.POST.get("task_due_hours", ""),
        }
        try:
            config.settings_save(workspace=workspace, data=values)
        except ValidationFailed as error:
            errors = error.fields
        else:
            messages.success(request, "Lead handoff settings saved.")
            return redirect("scoring:integrations")
    return render(
        request,
        "scoring/integrations.html",
        {
            "values": values,
            "errors": errors,
            "can_manage": _can(request, MANAGE),
            "crm_endpoint": endpoint_get(workspace=workspace, source="scoring.crm"),
        },
        status=400 if errors else 200,
    )
