"""Funnel pages: the saved funnels, and one funnel's editor with its result for a period.

The editor is `FunnelForm` (name, window, breakdown), `FunnelStepFormSet` (one form per step
row) and `FunnelExclusionFormSet` (one per exclusion row); adding or removing a row sends
the form back as a GET (with htmx only that list of rows is swapped) and saves nothing.
"Run" is a GET of the same fields, so a viewer can try a funnel too; only "Save" writes
(EDIT_MARKETING). A service error goes next to the row and part it names."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from analytics import funnels, selectors
from analytics.forms import (
    BLANK_EXCLUSION,
    BLANK_STEP,
    EXCLUSION_PARTS,
    STEP_PARTS,
    FunnelExclusionForm,
    FunnelExclusionFormSet,
    FunnelForm,
    FunnelStepForm,
    FunnelStepFormSet,
    funnel_errors_place,
)
from analytics.models import Funnel
from workspaces.errors import TendrilError, ValidationFailed
from workspaces.export import csv_response
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
        try:
            context = _result_context(request, instance, days)
        except TendrilError as error:  # a rule the saved funnel breaks, or too slow to count
            context = {"instance": instance, "result": None, "problem": error.message}
        return render(request, "analytics/funnel.html#result", context)
    if request.method == "GET" and (
        "row_action" in request.GET or "exclusion_action" in request.GET
    ):
        # Adding or removing a row writes nothing, so it is a GET: a viewer may try funnels.
        return _rows_changed(request, instance, days)
    result, problem, exportable = None, "", False
    if request.method == "POST" or "run" in request.GET:
        data = request.POST if request.method == "POST" else request.GET
        editor = _Editor(FunnelForm(data), FunnelStepFormSet(data), _exclusions_bound(data))
        valid = editor.is_valid()
        if valid and request.method == "POST":
            funnel = _save(request, instance, editor)
            if funnel is not None:
                messages.success(request, f"Funnel “{funnel.name}” saved.")
                return redirect("analytics:funnel", funnel.pk)
        elif valid:
            result, problem = _run(workspace, editor, days)
    elif instance:
        editor = _Editor(
            FunnelForm(initial=FunnelForm.initial_for(instance)),
            FunnelStepFormSet(initial=[FunnelStepForm.initial_for(s) for s in instance.steps]),
            FunnelExclusionFormSet(
                initial=[FunnelExclusionForm.initial_for(x) for x in instance.exclusions or []]
            ),
        )
        try:
            result = _result_context(request, instance, days)["result"]
            exportable = True
        except ValidationFailed as error:  # saved before a rule it now breaks: said on its row
            editor = _bound_to(instance)
            editor.place(error)
        except TendrilError as error:  # too slow to count: said where the result goes
            problem = error.message
    else:
        editor = _Editor(
            FunnelForm(),
            FunnelStepFormSet(initial=[BLANK_STEP, BLANK_STEP]),
            FunnelExclusionFormSet(initial=[]),
        )
    context = _page_context(request, instance, editor, days, result, problem)
    context.update(exportable=exportable, **_suggestions(workspace))
    status = 400 if editor.failed else 503 if problem else 200
    return render(request, "analytics/funnel.html", context, status=status)


@workspace_view
def funnel_export(request: HttpRequest, funnel_id: int) -> HttpResponse:
    """The saved funnel's result for the period as CSV (funnels.funnel_table)."""
    funnel = get_object_or_404(scoped(request, Funnel), pk=funnel_id)
    days = selectors.period_days(request.GET.get("days"))
    try:
        result = _result_context(request, funnel, days)["result"]
    except TendrilError as error:
        return HttpResponse(error.message, status=error.status, content_type="text/plain")
    return csv_response(
        funnels.funnel_table(result),
        filename=f"funnel-{funnel.pk}-{days}d",
        header=funnels.TABLE_HEADER,
    )


@workspace_view(write=MARKETING)
@require_POST
def funnel_delete(request: HttpRequest, funnel_id: int) -> HttpResponse:
    funnel = get_object_or_404(scoped(request, Funnel), pk=funnel_id)
    funnels.funnel_delete(workspace=request.workspace, funnel=funnel)  # type: ignore[attr-defined]
    messages.success(request, f"Funnel “{funnel.name}” deleted.")
    return redirect("analytics:funnels")


# --- helpers ----------------------------------------------------------------------------------


@dataclass
class _Editor:
    """The editor's three parts: the funnel's fields, the step rows, the exclusion rows."""

    form: FunnelForm
    steps: Any
    exclusions: Any

    def is_valid(self) -> bool:
        # (an unbound exclusion list is a form sent without one: no exclusions)
        exclusions = not self.exclusions.is_bound or self.exclusions.is_valid()
        return all([self.form.is_valid(), self.steps.is_valid(), exclusions])

    def data(self) -> dict[str, Any]:
        return {
            **self.form.cleaned_data,
            "steps": self.steps.steps(),
            "exclusions": self.exclusions.exclusions() if self.exclusions.is_bound else [],
            "breakdown": self.form.breakdown(),
        }

    def place(self, error: ValidationFailed) -> None:
        funnel_errors_place(error, self.form, self.steps, self.exclusions)

    @property
    def failed(self) -> bool:
        return bool(
            self.form.errors
            or any(self.steps.errors)
            or self.steps.non_form_errors()
            or (self.exclusions.is_bound and any(self.exclusions.errors))
            or self.exclusions.non_form_errors()
        )


def _exclusions_bound(data: QueryDict) -> Any:
    """The exclusion rows sent, or none when the form had no exclusion list at all (a link
    or script that predates exclusions)."""
    if "exclusion-TOTAL_FORMS" not in data:
        return FunnelExclusionFormSet(initial=[])
    return FunnelExclusionFormSet(data)


def _suggestions(workspace: Workspace) -> dict[str, Any]:
    """What the editor's text boxes offer: event names seen, and the names a breakdown may
    take (contact fields and attributes, then the properties seen on events)."""
    from contacts.selectors import event_definition_list
    from segments.selectors import filter_fields

    definitions = event_definition_list(workspace=workspace, limit=100)
    fields = list(filter_fields(workspace=workspace))
    properties = sorted({key for d in definitions for key in d.property_keys} - set(fields))
    return {"event_names": [d.name for d in definitions], "field_names": fields + properties}


def _rows_changed(request: HttpRequest, instance: Funnel | None, days: int) -> HttpResponse:
    """One row button: the rows as typed, with the change applied; nothing is validated."""
    typed_steps, typed_exclusions = FunnelStepFormSet(request.GET), _exclusions_bound(request.GET)
    bound = FunnelForm(request.GET)  # only to read the fields as typed; checked at Run or Save
    form = FunnelForm(initial={name: bound[name].data for name in bound.fields})
    steps = rows_as_typed(typed_steps, STEP_PARTS)
    exclusions = (
        rows_as_typed(typed_exclusions, EXCLUSION_PARTS) if typed_exclusions.is_bound else []
    )
    action = "exclusion_action" if "exclusion_action" in request.GET else "row_action"
    try:
        if action == "exclusion_action":
            exclusions, _ = rows_change(
                exclusions,
                request.GET["exclusion_action"],
                limit=funnels.MAX_EXCLUSIONS,
                blank=BLANK_EXCLUSION,
            )
            partial = "exclusions"
        else:
            steps, _ = rows_change(
                steps, request.GET["row_action"], limit=funnels.MAX_STEPS, blank=BLANK_STEP, keep=1
            )
            partial = "steps"
    except RowActionInvalid as error:
        return HttpResponseBadRequest(f"{action}: {error}")
    editor = _Editor(
        form, FunnelStepFormSet(initial=steps), FunnelExclusionFormSet(initial=exclusions)
    )
    context = _page_context(request, instance, editor, days, None, "")
    if not request.htmx:
        context.update(_suggestions(request.workspace))  # type: ignore[attr-defined]
    template = f"analytics/funnel.html#{partial}" if request.htmx else "analytics/funnel.html"
    return render(request, template, context)


def _bound_to(funnel: Funnel) -> _Editor:
    """The editor bound to a saved funnel, as if it had been sent back: to show its errors."""
    data: dict[str, Any] = {
        key: "" if value is None else value for key, value in FunnelForm.initial_for(funnel).items()
    }
    for prefix, rows in (
        ("step", [FunnelStepForm.initial_for(step) for step in funnel.steps]),
        ("exclusion", [FunnelExclusionForm.initial_for(x) for x in funnel.exclusions or []]),
    ):
        data.update({f"{prefix}-TOTAL_FORMS": len(rows), f"{prefix}-INITIAL_FORMS": len(rows)})
        for n, row in enumerate(rows):
            data.update({f"{prefix}-{n}-{part}": value for part, value in row.items()})
    editor = _Editor(FunnelForm(data), FunnelStepFormSet(data), FunnelExclusionFormSet(data))
    editor.is_valid()  # so the service's errors can be added to the rows
    return editor


def _save(request: HttpRequest, instance: Funnel | None, editor: _Editor) -> Funnel | None:
    try:
        return funnels.funnel_save(
            workspace=request.workspace,  # type: ignore[attr-defined]
            user=request.user,  # type: ignore[arg-type]
            data=editor.data(),
            instance=instance,
        )
    except ValidationFailed as error:
        editor.place(error)
        return None


def _run(
    workspace: Workspace, editor: _Editor, days: int
) -> tuple[funnels.FunnelResult | None, str]:
    """The form's funnel counted for the period, or None with the problems on the form (or,
    when counting took too long, in the second part)."""
    data = editor.data()
    try:
        definition = funnels.definition_parse(
            workspace=workspace,
            steps=data["steps"],
            exclusions=data["exclusions"],
            breakdown=data["breakdown"],
        )
    except ValidationFailed as error:
        editor.place(error)
        return None, ""
    period = selectors.period_ending_today(workspace=workspace, days=days)
    try:
        result = funnels.funnel_compute(
            workspace=workspace,
            steps=definition,
            window_days=editor.form.cleaned_data["window_days"],
            start=period.start,
            end=period.end,
        )
    except funnels.FunnelTooSlow as error:
        return None, error.message
    return result, ""


def _page_context(
    request: HttpRequest,
    instance: Funnel | None,
    editor: _Editor,
    days: int,
    result: funnels.FunnelResult | None,
    problem: str,
) -> dict[str, Any]:
    return {
        "instance": instance,
        "form": editor.form,
        "formset": editor.steps,
        "exclusions": editor.exclusions,
        "can_edit": _can_edit(request),
        "periods": selectors.PERIODS,
        "days": days,
        "max_steps": funnels.MAX_STEPS,
        "max_exclusions": funnels.MAX_EXCLUSIONS,
        "problem": problem,
        **_chart_context(result),
    }


def _result_context(request: HttpRequest, funnel: Funnel, days: int) -> dict[str, Any]:
    workspace = request.workspace  # type: ignore[attr-defined]
    period = selectors.period_ending_today(workspace=workspace, days=days)
    result = funnels.funnel_compute(
        workspace=workspace,
        steps=funnels.funnel_definition(funnel=funnel),
        window_days=funnel.window_days,
        start=period.start,
        end=period.end,
    )
    return {
        "instance": funnel,
        "days": days,
        "periods": selectors.PERIODS,
        "problem": "",
        "exportable": True,
        **_chart_context(result),
    }


def _chart_context(result: funnels.FunnelResult | None) -> dict[str, Any]:
    if result is None:
        return {"result": None}
    labels = [f"{i}. {row.step.label}" for i, row in enumerate(result.steps, start=1)]
    series = [{"label": "Contacts", "data": [row.contacts for row in result.steps]}]
    converted = [round((row.converted or 0) * 100, 1) for row in result.rows]
    return {
        "result": result,
        "chart_labels": json.dumps(labels),
        "chart_series": json.dumps(series),
        "breakdown_labels": json.dumps([row.value for row in result.rows]),
        "breakdown_series": json.dumps([{"label": "Completed the funnel (%)", "data": converted}]),
    }
