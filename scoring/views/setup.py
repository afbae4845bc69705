"""Setting scoring up: models and their rules (EDIT_MARKETING), lead routing (EDIT_MARKETING)
and the Slack / CRM webhooks (MANAGE_WORKSPACE). Forms post plain fields; the services
validate, and a rejected form comes back with each message next to its field (400).
The forms (labels, help texts, shapes) are in scoring/forms.py."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from scoring import selectors
from scoring.forms import (
    AssignmentRuleForm,
    BackfillWindowForm,
    RepCapacityForm,
    ScoringModelForm,
    ScoringRuleForm,
    ScoringSettingsForm,
)
from scoring.models import AssignmentRule, RuleKind, SalesRep, ScoringModel, ScoringRule
from scoring.services import backfill, config, scoring_settings
from segments.selectors import condition_editor
from workspaces.errors import ValidationFailed
from workspaces.forms import form_errors_from
from workspaces.htmx import HtmxHttpRequest
from workspaces.models import Membership
from workspaces.outbound.selectors import endpoint_get
from workspaces.roles import Capability
from workspaces.scoping import scoped, workspace_view

MARKETING = Capability.EDIT_MARKETING
MANAGE = Capability.MANAGE_WORKSPACE


def _can(request: HttpRequest, capability: Capability) -> bool:
    return request.membership.can(capability)  # type: ignore[attr-defined,no-any-return]


def _posted(request: HttpRequest) -> Any:
    """What a form is bound to: the POST on a POST (even an empty one), nothing on a GET."""
    return request.POST if request.method == "POST" else None


# --- models ----------------------------------------------------------------------------------


@workspace_view
def model_list(request: HttpRequest) -> HttpResponse:
    models = selectors.model_list(workspace=request.workspace)  # type: ignore[attr-defined]
    return render(
        request,
        "scoring/models.html",
        {"models": models, "can_edit": _can(request, MARKETING)},
    )


@workspace_view(write=MARKETING)
def model_edit(request: HttpRequest, model_id: int | None = None) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    instance = get_object_or_404(scoped(request, ScoringModel), pk=model_id) if model_id else None
    initial = {f: getattr(instance, f) for f in config.MODEL_FIELDS} if instance else None
    form = ScoringModelForm(_posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            model = config.model_save(
                workspace=workspace, data=form.cleaned_data, instance=instance
            )
        except ValidationFailed as error:
            form_errors_from(form, error)
        else:
            messages.success(request, f"Scoring model “{model.name}” saved.")
            return redirect("scoring:model", model.pk)
    context = {
        "instance": instance,
        "form": form,
        "rules": selectors.rule_list(workspace=workspace, model=instance) if instance else [],
        "kinds": RuleKind.choices,
        "can_edit": _can(request, MARKETING),
    }
    return render(request, "scoring/model_edit.html", context, status=400 if form.errors else 200)


@workspace_view(write=MARKETING)
@require_POST
def model_delete(request: HttpRequest, model_id: int) -> HttpResponse:
    model = get_object_or_404(scoped(request, ScoringModel), pk=model_id)
    config.model_delete(workspace=request.workspace, model=model)  # type: ignore[attr-defined]
    messages.success(request, f"Scoring model “{model.name}” deleted.")
    return redirect("scoring:models")


# --- rules ----------------------------------------------------------------------------------------


def _rule_conditions(data: Any, kind: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The conditions the condition editor island posts — `filter` (a fit rule's whole tree)
    or `behaviour` (the event and its `where`) — and, when one is not JSON (only a tampered
    form), the error naming it. They carry over only from the editor of the same kind (after
    a kind switch the form still holds the other kind's input)."""
    conditions: dict[str, Any] = {"event": "", "where": [], "filter": {}}
    name = {RuleKind.FIT.value: "filter", RuleKind.BEHAVIOURAL.value: "behaviour"}.get(kind)
    raw = data.get(name, "") if name else ""
    if not raw.strip():
        return conditions, {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as error:
        return conditions, {name: f"not valid JSON: {error.msg}"}  # type: ignore[dict-item]
    if kind == RuleKind.FIT:
        conditions["filter"] = value
    elif isinstance(value, dict):
        conditions["event"] = value.get("event", "")
        conditions["where"] = value.get("where", [])
    return conditions, {}


def _is_condition_error(name: str) -> bool:
    """The errors the condition editor shows next to its own rows."""
    return name in ("event", "where", "filter") or name.startswith(("where[", "filter."))


def _rule_editor(kind: str, conditions: dict[str, Any], errors: dict[str, Any]) -> Any:
    """The condition editor island for the rule's kind — who fits, or the event and its
    properties — with the errors that belong to it, keyed by their JSON path."""
    if kind == RuleKind.FIT:
        placed = {
            key[len("filter.") :]: v for key, v in errors.items() if key.startswith("filter.")
        }
        if "filter" in errors and not placed:  # (else it repeats the first placed one)
            placed[""] = errors["filter"]
        tree = conditions.get("filter") or {"all": []}
        return condition_editor(tree=tree, input_name="filter", errors=placed)
    if kind == RuleKind.BEHAVIOURAL:
        placed = {k: v for k, v in errors.items() if k == "event" or k.startswith("where")}
        if "behaviour" in errors:
            placed[""] = errors["behaviour"]
        event = {"event": conditions.get("event") or "", "where": conditions.get("where") or []}
        return condition_editor(tree=event, input_name="behaviour", errors=placed, mode="event")
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
    if "points" in request.GET:  # the kind changed: the form again, for the new kind, as typed
        form = ScoringRuleForm(
            initial={**request.GET.dict(), "is_active": "is_active" in request.GET}
        )
        conditions, _ = _rule_conditions(request.GET, form.shown_kind)
    elif rule:
        form = ScoringRuleForm(initial={f: getattr(rule, f) for f in config.RULE_FIELDS})
        conditions = {"event": rule.event, "where": rule.where, "filter": rule.filter}
    else:
        form = ScoringRuleForm(initial={"kind": request.GET.get("kind", RuleKind.BEHAVIOURAL)})
        conditions, _ = _rule_conditions({}, form.shown_kind)
    errors: dict[str, Any] = {}
    rule_before = (rule.event, rule.where, rule.points, rule.is_active) if rule else None
    if request.method == "POST":
        form = ScoringRuleForm(request.POST)
        conditions, errors = _rule_conditions(request.POST, form.shown_kind)
        if form.is_valid() and not errors:
            try:
                saved = config.rule_save(
                    workspace=workspace,
                    model=model,
                    data={**form.cleaned_data, **conditions},
                    instance=rule,
                )
            except ValidationFailed as error:
                errors = error.fields
                form_errors_from(form, error, elsewhere=_is_condition_error)
            else:
                messages.success(request, f"Rule “{saved.name}” saved.")
                if _scores_new_events(saved, rule_before):
                    # It scores what arrives from now on; offer to count what already happened.
                    return redirect("scoring:rule_history", model.pk, saved.pk)
                return redirect("scoring:model", model.pk)
    form.fields["kind"].widget.attrs.update(
        {
            "hx-get": request.path,
            "hx-trigger": "change",
            "hx-include": "#rule-form",
            "hx-select": "#rule-card",
            "hx-target": "#rule-card",
            "hx-swap": "outerHTML",
        }
    )
    context = {
        "model": model,
        "rule": rule,
        "form": form,
        "conditions": _rule_editor(form.shown_kind, conditions, errors),
    }
    status = 400 if form.errors or errors else 200
    return render(request, "scoring/rule_edit.html", context, status=status)


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
    sent = request.POST if request.method == "POST" else request.GET
    form = BackfillWindowForm(sent if "days" in sent else None)
    days = form.cleaned_data["days"] if form.is_valid() else backfill.DEFAULT_DAYS
    error = " ".join(form.errors.get("days", []))
    if request.method == "POST" and not error:
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
    """Assignment rules (first match wins) and each rep's capacity. The capacity rows post
    `action=capacity`; everything else adds a rule."""
    workspace = request.workspace  # type: ignore[attr-defined]
    rule_form = AssignmentRuleForm(workspace=workspace)
    capacity_form = RepCapacityForm(workspace=workspace)
    if request.method == "POST":
        if request.POST.get("action") == "capacity":
            capacity_form = RepCapacityForm(request.POST, workspace=workspace)
            saved = _capacity_save(request, capacity_form)
        else:
            rule_form = AssignmentRuleForm(request.POST, workspace=workspace)
            saved = _assignment_rule_save(request, rule_form)
        if saved:
            messages.success(request, saved)
            return redirect("scoring:routing")
    members = list(scoped(request, Membership).select_related("user").order_by("user__email"))
    reps = {r.user_id: r for r in scoped(request, SalesRep)}
    context = {
        "rules": scoped(request, AssignmentRule).prefetch_related("reps"),
        "members": [(m, reps.get(m.user_id)) for m in members],
        "form": rule_form,
        "capacity_form": capacity_form,
        "can_edit": _can(request, MARKETING),
    }
    status = 400 if rule_form.errors or capacity_form.errors else 200
    return render(request, "scoring/routing.html", context, status=status)


def _assignment_rule_save(request: HttpRequest, form: AssignmentRuleForm) -> str:
    if not form.is_valid():
        return ""
    try:
        config.assignment_rule_save(workspace=form.workspace, data=form.cleaned_data)
    except ValidationFailed as error:
        form_errors_from(form, error)
        return ""
    return "Assignment rule saved."


def _capacity_save(request: HttpRequest, form: RepCapacityForm) -> str:
    if not form.is_valid():
        return ""
    membership = get_object_or_404(
        scoped(request, Membership).select_related("user"), user_id=form.cleaned_data["user"]
    )
    try:
        config.rep_capacity_set(
            workspace=form.workspace,
            user=membership.user,
            max_open_leads=form.cleaned_data["max_open_leads"],
            is_available=form.cleaned_data["is_available"],
        )
    except ValidationFailed as error:
        form_errors_from(form, error)
        return ""
    return "Capacity saved."


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
    form = ScoringSettingsForm(
        _posted(request),
        initial={name: getattr(current, name) for name in ScoringSettingsForm.base_fields},
    )
    if request.method == "POST" and form.is_valid():
        try:
            config.settings_save(workspace=workspace, data=form.cleaned_data)
        except ValidationFailed as error:
            form_errors_from(form, error)
        else:
            messages.success(request, "Lead handoff settings saved.")
            return redirect("scoring:integrations")
    return render(
        request,
        "scoring/integrations.html",
        {
            "form": form,
            "can_manage": _can(request, MANAGE),
            "crm_endpoint": endpoint_get(workspace=workspace, source="scoring.crm"),
        },
        status=400 if form.errors else 200,
    )
