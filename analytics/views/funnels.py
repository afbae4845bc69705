"""Funnel pages: the saved funnels, and one funnel's editor with its result for a period.

The editor is `FunnelForm` (name, window) and `FunnelStepFormSet`, one form per step row;
adding or removing a row sends the form back as a GET (with htmx only the rows are swapped)
and saves nothing. "Run" is a GET of the same fields, so a viewer can try a funnel too; only
"Save" writes (EDIT_MARKETING). A service error goes next to the row and part it names."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from analytics import funnels, selectors
from analytics.forms import BLANK_STEP, STEP_PARTS, FunnelForm, FunnelStepForm, FunnelStepFormSet
from analytics.models import Funnel
from workspaces.errors import ValidationFailed
from workspaces.forms import RowActionInvalid, rows_as_typed, rows_change
from workspaces.htmx import HtmxHttpRequest
from workspaces.models import Workspace
from workspaces.roles import Capability
from workspaces.scoping import scoped, workspace_view

MARKETING = Capability.EDIT_MARKETING


def _can_edit(request: HttpRequest) -> bool:
    return request.membership.can(MARKETING)  # type: ignore[attr-defined,no-any-return]


# --- pages ------------------------------------------------------------------------------------


@workspace_view
def funnel_list(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    return render(
        request,
        "analytics/funnels.html",
        {"funnels": funnels.funnel_list(workspace=workspace), "can_edit": _can_edit(request)},
    )


@workspace_view(write=MARKETING)
def funnel_edit(request: HtmxHttpRequest, funnel_id: int | None = None) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    instance = get_object_or_404(scoped(request, Funnel), pk=funnel_id) if funnel_id else None
    if request.method == "GET" and "csrfmiddlewaretoken" in request.GET:
        # "Run" without JavaScript submits the form as a GET, token and all: answer with the
        # same address without it, so it stays out of the address bar, history and links.
        query = request.GET.copy()
        del query["csrfmiddlewaretoken"]
        return redirect(f"{request.path}?{query.urlencode()}")
    days = selectors.period_days(request.GET.get("days"))
    if instance and request.htmx and request.GET.get("partial") == "result":
        return render(
            request, "analytics/funnel.html#result", _result_context(request, instance, days)
        )
    if request.method == "GET" and "row_action" in request.GET:
        # Adding or removing a row writes nothing, so it is a GET: a viewer may try funnels.
        return _rows_changed(request, instance, days)
    result = None
    if request.method == "POST" or "run" in request.GET:
        data = request.POST if request.method == "POST" else request.GET
        form, formset = FunnelForm(data), FunnelStepFormSet(data)
        valid = form.is_valid() and formset.is_valid()
        if valid and request.method == "POST":
            funnel = _save(request, instance, form, formset)
            if funnel is not None:
                messages.success(request, f"Funnel “{funnel.name}” saved.")
                return redirect("analytics:funnel", funnel.pk)
        elif valid:
            result = _run(workspace, form, formset, days)
    elif instance:
        form = FunnelForm(initial={"name": instance.name, "window_days": instance.window_days})
        formset = FunnelStepFormSet(
            initial=[FunnelStepForm.initial_for(step) for step in instance.steps]
        )
        try:
            result = _result_context(request, instance, days)["result"]
        except ValidationFailed as error:  # saved before a rule it now breaks: said on its row
            form, formset = _bound_to(instance)
            formset.add_service_errors(error, form)
    else:
        form, formset = FunnelForm(), FunnelStepFormSet(initial=[BLANK_STEP, BLANK_STEP])
    context = _page_context(request, instance, form, formset, days, result)
    failed = form.errors or any(formset.errors) or formset.non_form_errors()
    return render(request, "analytics/funnel.html", context, status=400 if failed else 200)


@workspace_view(write=MARKETING)
@require_POST
def funnel_delete(request: HttpRequest, funnel_id: int) -> HttpResponse:
    funnel = get_object_or_404(scoped(request, Funnel), pk=funnel_id)
    funnels.funnel_delete(workspace=request.workspace, funnel=funnel)  # type: ignore[attr-defined]
    messages.success(request, f"Funnel “{funnel.name}” deleted.")
    return redirect("analytics:funnels")


# --- helpers ----------------------------------------------------------------------------------


def _rows_changed(request: HttpRequest, instance: Funnel | None, days: int) -> HttpResponse:
    """One row button: the rows as typed, with the change applied; nothing is validated."""
    typed = FunnelStepFormSet(request.GET)
    bound = FunnelForm(request.GET)  # only to read the fields as typed; checked at Run or Save
    form = FunnelForm(initial={name: bound[name].data for name in bound.fields})
    try:
        rows, _ = rows_change(
            rows_as_typed(typed, STEP_PARTS),
            request.GET["row_action"],
            limit=funnels.MAX_STEPS,
            blank=BLANK_STEP,
            keep=1,
        )
    except RowActionInvalid as error:
        return HttpResponseBadRequest(f"row_action: {error}")
    formset = FunnelStepFormSet(initial=rows)
    context = _page_context(request, instance, form, formset, days, None)
    template = "analytics/funnel.html#steps" if request.htmx else "analytics/funnel.html"
    return render(request, template, context)


def _bound_to(funnel: Funnel) -> tuple[FunnelForm, Any]:
    """The editor bound to a saved funnel, as if it had been sent back: to show its errors."""
    rows = [FunnelStepForm.initial_for(step) for step in funnel.steps]
    data = {"name": funnel.name, "window_days": funnel.window_days}
    data.update({"step-TOTAL_FORMS": len(rows), "step-INITIAL_FORMS": len(rows)})
    for n, row in enumerate(rows):
        data.update({f"step-{n}-{part}": value for part, value in row.items()})
    form, formset = FunnelForm(data), FunnelStepFormSet(data)
    form.full_clean()
    formset.full_clean()  # so the service's errors can be added to the rows
    return form, formset


def _save(
    request: HttpRequest, instance: Funnel | None, form: FunnelForm, formset: Any
) -> Funnel | None:
    data = {**form.cleaned_data, "steps": formset.steps()}
    try:
        return funnels.funnel_save(
            workspace=request.workspace,  # type: ignore[attr-defined]
            user=request.user,  # type: ignore[arg-type]
            data=data,
            instance=instance,
        )
    except ValidationFailed as error:
        formset.add_service_errors(error, form)
        return None


def _run(
    workspace: Workspace, form: FunnelForm, formset: Any, days: int
) -> funnels.FunnelResult | None:
    """The form's funnel counted for the period, or None with the problems on the form."""
    try:
        steps = funnels.steps_parse(workspace=workspace, steps=formset.steps())
    except ValidationFailed as error:
        formset.add_service_errors(error, form)
        return None
    period = selectors.period_ending_today(workspace=workspace, days=days)
    return funnels.funnel_compute(
        workspace=workspace,
        steps=steps,
        window_days=form.cleaned_data["window_days"],
        start=period.start,
        end=period.end,
    )


def _page_context(
    request: HttpRequest,
    instance: Funnel | None,
    form: FunnelForm,
    formset: Any,
    days: int,
    result: funnels.FunnelResult | None,
) -> dict[str, Any]:
    return {
        "instance": instance,
        "form": form,
        "formset": formset,
        "can_edit": _can_edit(request),
        "periods": selectors.PERIODS,
        "days": days,
        "max_steps": funnels.MAX_STEPS,
        **_chart_context(result),
    }


def _result_context(request: HttpRequest, funnel: Funnel, days: int) -> dict[str, Any]:
    workspace = request.workspace  # type: ignore[attr-defined]
    period = selectors.period_ending_today(workspace=workspace, days=days)
    start, end = period.start, period.end
    result = funnels.funnel_compute(
        workspace=workspace,
        steps=funnel.steps,
        window_days=funnel.window_days,
        start=start,
        end=end,
    )
    return {
        "instance": funnel,
        "days": days,
        "periods": selectors.PERIODS,
        **_chart_context(result),
    }


def _chart_context(result: funnels.FunnelResult | None) -> dict[str, Any]:
    if result is None:
        return {"result": None}
    labels = [f"{i}. {row.step.label}" for i, row in enumerate(result.steps, start=1)]
    series = [{"label": "Contacts", "data": [row.contacts for row in result.steps]}]
    return {
        "result": result,
        "chart_labels": json.dumps(labels),
        "chart_series": json.dumps(series),
    }
