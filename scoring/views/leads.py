"""The sales rep's pages: the ranked leads list, the hot-leads feed, a lead and its actions.

Reading needs VIEW; every action needs WORK_LEADS (sales, marketers, admins; not viewers).
Actions are htmx posts that re-render the lead's main partial; without htmx they redirect
back (a plain form still works). Bad input answers 400 with the message next to its form.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from contacts import selectors as contact_selectors
from contacts.models import Contact, LifecycleStage
from predictions import selectors as prediction_selectors
from scoring import selectors, services
from scoring.forms import DealWonForm, DisqualifyForm, LeadAssignForm, LeadLogForm, SalesTaskForm
from scoring.models import SalesTask
from workspaces.errors import TendrilError
from workspaces.forms import form_errors_from
from workspaces.htmx import HtmxHttpRequest
from workspaces.models import Membership, User, Workspace
from workspaces.roles import Capability
from workspaces.scoping import scoped, workspace_view

WORK = Capability.WORK_LEADS
PAGE_SIZE = 50
STAGE_TABS = [
    ("open", "Open"),
    ("mql", "MQL"),
    ("sql", "SQL"),
    ("lead", "Lead"),
    ("customer", "Customers"),
    ("other", "Disqualified"),
    ("all", "All"),
]


def _can_work(request: HttpRequest) -> bool:
    return request.membership.can(WORK)  # type: ignore[attr-defined,no-any-return]


def _clean_params(request: HttpRequest) -> Any:
    params = request.GET.copy()
    for key in list(params):
        if not any(v.strip() for v in params.getlist(key)):
            del params[key]
    return params


@workspace_view
def lead_list(request: HtmxHttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    filters = selectors.LeadFilters.from_params(_clean_params(request), strict=False)
    page = selectors.lead_page(
        workspace=workspace,
        filters=filters,
        user=request.user,  # type: ignore[arg-type]
        page=request.GET.get("page"),
        per_page=PAGE_SIZE,
    )
    query = _clean_params(request)
    query.pop("page", None)
    likely_model, likely = prediction_selectors.lead_likelihoods(
        workspace=workspace, contact_ids=[lead.pk for lead in page.object_list]
    )
    for lead in page.object_list:
        lead.likelihood = likely.get(lead.pk)
    context: dict[str, Any] = {
        "page": page,
        "likely_model": likely_model,
        "filters": filters,
        "query": query.urlencode(),
        "stage_query": _without(query, "stage"),
        "stage_tabs": STAGE_TABS,
        "model": selectors.primary_model(workspace=workspace),
    }
    status = 400 if filters.errors else 200
    if request.htmx and request.htmx.target == "lead-results":
        return render(request, "scoring/leads.html#results", context, status=status)
    context["owners"] = contact_selectors.owner_choices(workspace=workspace)
    context["hot"] = selectors.hot_leads(workspace=workspace)
    context["my_tasks"] = selectors.my_open_tasks(workspace=workspace, user=request.user)  # type: ignore[arg-type]
    return render(request, "scoring/leads.html", context, status=status)


def _without(query: Any, key: str) -> str:
    copy = query.copy()
    copy.pop(key, None)
    return str(copy.urlencode())


@workspace_view
def hot_feed(request: HttpRequest) -> HttpResponse:
    """The live feed's partial (polled every few seconds by the leads page)."""
    hot = selectors.hot_leads(workspace=request.workspace)  # type: ignore[attr-defined]
    return render(request, "scoring/leads.html#hot", {"hot": hot, "now": timezone.now()})


# --- one lead ----------------------------------------------------------------------------------


def _lead(request: HttpRequest, contact_id: int) -> Contact:
    return get_object_or_404(scoped(request, Contact).select_related("owner"), pk=contact_id)


def _lead_context(request: HttpRequest, contact: Contact, **extra: Any) -> dict[str, Any]:
    workspace = request.workspace  # type: ignore[attr-defined]
    model = selectors.primary_model(workspace=workspace)
    context: dict[str, Any] = {
        "contact": contact,
        "model": model,
        "can_work": _can_work(request),
        "stages": LifecycleStage,
        "tasks": selectors.lead_tasks(workspace=workspace, contact=contact),
        "activities": selectors.lead_activities(workspace=workspace, contact=contact),
        "timeline": contact_selectors.contact_timeline(
            workspace=workspace, contact=contact, limit=25
        ).events,
        "facts": selectors.lead_context(workspace=workspace, contact=contact),
        "disqualified": selectors.lead_disqualification(workspace=workspace, contact=contact),
        "forms": _lead_forms(workspace, contact, extra.pop("failed", None)),
        **extra,
    }
    if model is not None:
        contact.score = selectors.score_current(workspace=workspace, contact=contact, model=model)
        breakdown = selectors.score_breakdown(workspace=workspace, contact=contact, model=model)
        labels, values = selectors.score_over_time(
            workspace=workspace, contact=contact, model=model
        )
        context.update(
            breakdown=breakdown,
            changes=selectors.score_changes(
                workspace=workspace, contact=contact, model=model, limit=15
            ),
            chart_time_labels=json.dumps(labels),
            chart_time_series=json.dumps([{"label": "Score", "data": values}]),
            chart_rule_labels=json.dumps([b.label for b in breakdown]),
            chart_rule_series=json.dumps(
                [
                    {"label": "Now", "data": [round(b.current, 1) for b in breakdown]},
                    {"label": "Decayed", "data": [round(b.decayed, 1) for b in breakdown]},
                ]
            ),
        )
    return context


@workspace_view
def lead_detail(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = _lead(request, contact_id)
    return render(request, "scoring/lead.html", _lead_context(request, contact))


def _lead_forms(
    workspace: Workspace, contact: Contact, failed: tuple[str, Form] | None
) -> dict[str, Form]:
    """The lead's action forms, blank, but for the one whose post failed (its errors shown)."""
    forms: dict[str, Form] = {
        "disqualify": DisqualifyForm(),
        "log": LeadLogForm(),
        "won": DealWonForm(),
        "assign": LeadAssignForm(initial={"owner": contact.owner_id}, workspace=workspace),
        "task": SalesTaskForm(workspace=workspace),
    }
    if failed:
        forms[failed[0]] = failed[1]
    return forms


def _answer(
    request: HtmxHttpRequest,
    contact: Contact,
    *,
    done: str = "",
    failed: tuple[str, Form] | None = None,
) -> HttpResponse:
    """Re-render the lead (htmx) or go back to it; a failed form shows its errors, with 400."""
    if request.htmx or failed:
        contact = _lead(request, contact.pk)
        context = _lead_context(request, contact, failed=failed, done=done)
        template = "scoring/lead.html#lead-main" if request.htmx else "scoring/lead.html"
        return render(request, template, context, status=400 if failed else 200)
    if done:
        messages.success(request, done)
    return redirect("scoring:lead", contact.pk)


def _act(
    request: HtmxHttpRequest, contact: Contact, name: str, form: Form, action: Any, done: str
) -> HttpResponse:
    """Run `action(form.cleaned_data)` if the form is valid; a service's refusal is said in
    words next to the field it names."""
    if form.is_valid():
        try:
            action(form.cleaned_data)
        except TendrilError as error:
            form_errors_from(form, error, in_words=True)
        else:
            return _answer(request, contact, done=done)
    return _answer(request, contact, failed=(name, form))


def _actor(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


@workspace_view(write=WORK)
@require_POST
def lead_accept(request: HtmxHttpRequest, contact_id: int) -> HttpResponse:
    contact = _lead(request, contact_id)
    services.lead_accept(workspace=request.workspace, contact=contact, actor=_actor(request))  # type: ignore[attr-defined]
    return _answer(request, contact, done="Accepted: the lead is now sales qualified.")


@workspace_view(write=WORK)
@require_POST
def lead_disqualify(request: HtmxHttpRequest, contact_id: int) -> HttpResponse:
    contact = _lead(request, contact_id)
    form = DisqualifyForm(request.POST)
    return _act(
        request,
        contact,
        "disqualify",
        form,
        lambda data: services.lead_disqualify(
            workspace=request.workspace,  # type: ignore[attr-defined]
            contact=contact,
            reason=data["reason"],
            actor=_actor(request),
        ),
        "Disqualified.",
    )


@workspace_view(write=WORK)
@require_POST
def lead_log(request: HtmxHttpRequest, contact_id: int) -> HttpResponse:
    contact = _lead(request, contact_id)
    form = LeadLogForm(request.POST)
    call = form.is_valid() and form.cleaned_data["kind"] == "call"
    return _act(
        request,
        contact,
        "log",
        form,
        lambda data: services.lead_activity_log(
            workspace=request.workspace,  # type: ignore[attr-defined]
            contact=contact,
            kind=data["kind"],
            body=data["body"],
            actor=_actor(request),
        ),
        "Call logged." if call else "Note added.",
    )


@workspace_view(write=WORK)
@require_POST
def lead_won(request: HtmxHttpRequest, contact_id: int) -> HttpResponse:
    contact = _lead(request, contact_id)
    form = DealWonForm(request.POST)
    return _act(
        request,
        contact,
        "won",
        form,
        lambda data: services.deal_record(
            workspace=request.workspace,  # type: ignore[attr-defined]
            contact=contact,
            value=data["value"],
            currency=data["currency"],
            name=data["name"],
            actor=_actor(request),
        ),
        "Marked as customer.",
    )


@workspace_view(write=WORK)
@require_POST
def lead_assign(request: HtmxHttpRequest, contact_id: int) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    contact = _lead(request, contact_id)
    form = LeadAssignForm(request.POST, workspace=workspace)
    if form.is_valid():
        owner = _member(request, form.cleaned_data["owner"]) if form.cleaned_data["owner"] else None
        try:
            assigned = services.lead_assign(
                workspace=workspace, contact=contact, owner=owner, actor=_actor(request)
            )
        except TendrilError as error:
            form_errors_from(form, error, in_words=True)
        else:
            if assigned is not None:
                return _answer(request, contact, done=f"Assigned to {assigned}.")
            form.add_error("owner", "No rep has capacity for this lead right now.")
    return _answer(request, contact, failed=("assign", form))


def _member(request: HttpRequest, user_id: int) -> User:
    """The member a form chose (the choices are the workspace's members)."""
    membership = get_object_or_404(
        scoped(request, Membership).select_related("user"), user_id=user_id
    )
    return membership.user


@workspace_view(write=WORK)
@require_POST
def lead_task_create(request: HtmxHttpRequest, contact_id: int) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    contact = _lead(request, contact_id)
    form = SalesTaskForm(request.POST, workspace=workspace)
    return _act(
        request,
        contact,
        "task",
        form,
        lambda data: services.sales_task_create(
            workspace=workspace,
            contact=contact,
            title=data["title"],
            due_at=data["due_at"],
            assignee=_member(request, data["assignee"]) if data["assignee"] else None,
            created_by=_actor(request),
        ),
        "Task added.",
    )


@workspace_view(write=WORK)
@require_POST
def lead_task_done(request: HtmxHttpRequest, contact_id: int, task_id: int) -> HttpResponse:
    contact = _lead(request, contact_id)
    task = get_object_or_404(scoped(request, SalesTask), pk=task_id, contact=contact)
    services.sales_task_complete(workspace=request.workspace, task=task)  # type: ignore[attr-defined]
    return _answer(request, contact, done="Task done.")
