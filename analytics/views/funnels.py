"""Funnel pages: the saved funnels, and one funnel's editor with its result for a period.

The step rows are plain form fields (`step_kind`, `step_value`, and one optional property
condition per event step); adding or removing a row sends the form back as a GET (with htmx
only the rows are swapped) and saves nothing. "Run" is a GET of the same fields, so a viewer can try
a funnel too; only "Save" writes (EDIT_MARKETING)."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from analytics import funnels, selectors
from analytics.models import Funnel
from segments.selectors import operator_label
from workspaces.errors import ValidationFailed
from workspaces.htmx import HtmxHttpRequest
from workspaces.models import Workspace
from workspaces.roles import Capability
from workspaces.scoping import scoped, workspace_view

MARKETING = Capability.EDIT_MARKETING
WHERE_OPS = ("eq", "neq", "contains", "not_contains", "gt", "gte", "lt", "lte", "exists")
EMPTY_ROW = {"kind": "event", "value": "", "property": "", "op": "eq", "operand": ""}


def _can_edit(request: HttpRequest) -> bool:
    return request.membership.can(MARKETING)  # type: ignore[attr-defined,no-any-return]


# --- rows <-> steps ---------------------------------------------------------------------------


def rows_from_steps(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for step in steps:
        kind = "page" if "page" in step else "event"
        row = {**EMPTY_ROW, "kind": kind, "value": step.get(kind, "")}
        where = step.get("where") or []
        if where and isinstance(where[0], dict):
            value = where[0].get("value")
            row.update(
                property=where[0].get("property", ""),
                op=where[0].get("op", "eq"),
                operand="" if value is None else str(value),
            )
        rows.append(row)
    return rows


def rows_from_form(data: QueryDict) -> list[dict[str, Any]]:
    columns = [
        data.getlist(f"step_{key}") for key in ("kind", "value", "property", "op", "operand")
    ]
    return [
        dict(zip(("kind", "value", "property", "op", "operand"), values, strict=False))
        for values in zip(*columns, strict=False)
    ]


def steps_from_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    steps = []
    for row in rows:
        kind = "page" if row.get("kind") == "page" else "event"
        step: dict[str, Any] = {kind: row.get("value", "")}
        if kind == "event" and (row.get("property") or "").strip():
            condition = {"property": row["property"].strip(), "op": row.get("op") or "eq"}
            if condition["op"] != "exists":
                condition["value"] = row.get("operand", "")
            step["where"] = [condition]
        steps.append(step)
    return steps


def _row_action(rows: list[dict[str, Any]], action: str) -> list[dict[str, Any]]:
    if action == "add" and len(rows) < funnels.MAX_STEPS:
        return [*rows, dict(EMPTY_ROW)]
    if action.startswith("remove:") and len(rows) > 1:
        index = int(action.split(":", 1)[1]) if action[7:].isdigit() else -1
        return [row for i, row in enumerate(rows) if i != index]
    return rows


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
            request, "analytics/_funnel_result.html", _result_context(request, instance, days)
        )
    errors: dict[str, str] = {}
    if request.method == "GET" and request.GET.get("row_action"):
        # Adding or removing a row writes nothing, so it is a GET: a viewer may try funnels.
        values = _values_from(request.GET)
        values["rows"] = _row_action(values["rows"], request.GET["row_action"])
        template = "analytics/_funnel_steps.html" if request.htmx else "analytics/funnel.html"
        return render(request, template, _page_context(request, instance, values, days, {}))
    if request.method == "POST":
        values = _values_from(request.POST)
        try:
            funnel = funnels.funnel_save(
                workspace=workspace,
                user=request.user,  # type: ignore[arg-type]
                data={**values, "steps": steps_from_rows(values["rows"])},
                instance=instance,
            )
        except ValidationFailed as error:
            errors = error.fields or {"form": error.message}
        else:
            messages.success(request, f"Funnel “{funnel.name}” saved.")
            return redirect("analytics:funnel", funnel.pk)
    elif "run" in request.GET:
        values = _values_from(request.GET)
    elif instance:
        values = {
            "name": instance.name,
            "window_days": instance.window_days,
            "rows": rows_from_steps(instance.steps),
        }
    else:
        values = {"name": "", "window_days": 30, "rows": [dict(EMPTY_ROW), dict(EMPTY_ROW)]}
    context = _page_context(request, instance, values, days, errors)
    status = 400 if errors or context["run_errors"] else 200
    return render(request, "analytics/funnel.html", context, status=status)


@workspace_view(write=MARKETING)
@require_POST
def funnel_delete(request: HttpRequest, funnel_id: int) -> HttpResponse:
    funnel = get_object_or_404(scoped(request, Funnel), pk=funnel_id)
    funnels.funnel_delete(workspace=request.workspace, funnel=funnel)  # type: ignore[attr-defined]
    messages.success(request, f"Funnel “{funnel.name}” deleted.")
    return redirect("analytics:funnels")


# --- helpers ----------------------------------------------------------------------------------


def _values_from(data: QueryDict) -> dict[str, Any]:
    return {
        "name": data.get("name", ""),
        "window_days": data.get("window_days", "30"),
        "rows": rows_from_form(data),
    }


def _page_context(
    request: HttpRequest,
    instance: Funnel | None,
    values: dict[str, Any],
    days: int,
    errors: dict[str, str],
) -> dict[str, Any]:
    """The editor, and the result of what it shows when that is a valid funnel to run: the
    saved funnel on a plain GET, the form's funnel on "Run" (a failed save shows no result)."""
    result, run_errors = None, {}
    running = "run" in request.GET and request.method == "GET"
    if (instance and request.method == "GET" and not request.GET.get("row_action")) or running:
        try:
            result = _compute(request.workspace, values, days)  # type: ignore[attr-defined]
        except ValidationFailed as error:
            run_errors = error.fields or {"form": error.message}
    shown = errors or run_errors
    rows = values["rows"]
    for index, row in enumerate(rows):
        prefix = f"steps[{index}]"
        row["errors"] = [
            f"{key.removeprefix(prefix).lstrip('.')}: {message}" if key != prefix else message
            for key, message in shown.items()
            if key == prefix or key.startswith((f"{prefix}.", f"{prefix}["))
        ]
    return {
        "instance": instance,
        "values": values,
        "errors": shown,
        "run_errors": run_errors,
        "step_errors": {k: m for k, m in shown.items() if k == "steps"},
        "can_edit": _can_edit(request),
        "periods": selectors.PERIODS,
        "days": days,
        "where_ops": [(op, operator_label(op)) for op in WHERE_OPS],
        "max_steps": funnels.MAX_STEPS,
        **_chart_context(result),
    }


def _compute(workspace: Workspace, values: dict[str, Any], days: int) -> funnels.FunnelResult:
    steps = funnels.steps_parse(workspace=workspace, steps=steps_from_rows(values["rows"]))
    window = funnels.window_parse(values.get("window_days", 30))
    period = selectors.period_ending_today(workspace=workspace, days=days)
    start, end = period.start, period.end
    return funnels.funnel_compute(
        workspace=workspace, steps=steps, window_days=window, start=start, end=end
    )


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
