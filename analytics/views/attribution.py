"""Attribution pages: the revenue report (also the dashboard's htmx panel), its settings, and
the recompute a change of settings starts — its progress polled by htmx, as an import's is."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from analytics.attribution import (
    State,
    attribution_by_source,
    attribution_config_save,
    attribution_recompute_start,
    attribution_state,
    attribution_totals,
)
from analytics.forms import AttributionSettingsForm
from analytics.models import AttributionModel
from analytics.selectors import PERIODS, Period, period_days, period_ending_today
from workspaces.errors import ValidationFailed
from workspaces.export import csv_response
from workspaces.forms import form_errors_from
from workspaces.htmx import HtmxHttpRequest
from workspaces.models import Workspace
from workspaces.roles import Capability
from workspaces.scoping import workspace_view

EXPORT_HEADER = ["source_type", "source_id", "label", "conversions", "revenue", "currency", "model"]
CHART_SOURCES = 10  # the chart shows the top sources; the table lists them all
SOURCE_PAGES = {"workflow": "workflows:detail", "broadcast": "messaging:broadcast_detail"}


# Dates a report may ask for: far enough for any history, near enough that the period's end
# (the day after the last) is still a date.
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2999, 12, 31)


def _day(raw: str, name: str, errors: dict[str, str]) -> date | None:
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        errors[name] = f"“{raw[:40]}” is not a date (YYYY-MM-DD)"
        return None
    if not FIRST_DAY <= day <= LAST_DAY:
        errors[name] = f"a date from {FIRST_DAY} to {LAST_DAY}"
        return None
    return day


def report_period(
    query: QueryDict, workspace: Workspace, errors: dict[str, str]
) -> tuple[Period, int | None]:
    """From/to dates when given (both days included), else the last 7/30/90 days; with the
    preset picked (None for a date range)."""
    latest = period_ending_today(workspace=workspace, days=1)
    zone, today = latest.zone, latest.first
    raw_from, raw_to = query.get("from", "").strip(), query.get("to", "").strip()
    if raw_from or raw_to:
        first = _day(raw_from, "from", errors) if raw_from else today - timedelta(days=29)
        last = _day(raw_to, "to", errors) if raw_to else today
        if first and last and last < first:
            errors["to"] = "the end must not be before the start"
        elif first and last:
            return Period(first=first, days=(last - first).days + 1, zone=zone), None
    raw_days = query.get("days", "")
    if raw_days and raw_days not in {str(n) for n in PERIODS}:
        errors["days"] = f"one of {', '.join(map(str, PERIODS))}"
    days = period_days(raw_days)
    return period_ending_today(workspace=workspace, days=days), days


def report_query(
    query: QueryDict, workspace: Workspace, state: State
) -> tuple[Period, int | None, str, dict[str, str]]:
    """The period, preset, model and problems of a report's query (page, CSV and API alike);
    a bad model falls back to the workspace's default, named in the problems."""
    errors: dict[str, str] = {}
    period, preset = report_period(query, workspace, errors)
    model = query.get("model") or state.settings.default_model
    if model not in AttributionModel.values:
        errors["model"] = f"one of {', '.join(AttributionModel.values)}"
        model = state.settings.default_model
    return period, preset, model, errors


def _source_url(row: dict[str, Any]) -> str:
    page = SOURCE_PAGES.get(row["source_type"])
    if page is None or not row["source_id"].isdigit() or row["label"].startswith("Deleted "):
        return ""
    return reverse(page, args=[int(row["source_id"])])


def _chart(sources: list[dict[str, Any]], currency: str) -> tuple[str, str]:
    top = sources[:CHART_SOURCES]
    labels = json.dumps([row["label"] for row in top])
    revenue = [float(row["revenue"]) for row in top]
    series = json.dumps([{"label": f"Revenue ({currency})", "data": revenue}])
    return labels, series


@workspace_view
def attribution_report(request: HtmxHttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    state = attribution_state(workspace=workspace)
    settings = state.settings  # what the figures shown were computed with
    period, preset, model, errors = report_query(request.GET, workspace, state)
    window = {"workspace": workspace, "start": period.start, "end": period.end, "model": model}
    sources = attribution_by_source(**window)
    for row in sources:
        row["url"] = _source_url(row)
    labels, series = _chart(sources, workspace.currency)
    context = {
        "period": period,
        "period_last": period.end.date() - timedelta(days=1),
        "preset": preset,
        "periods": PERIODS,
        "model": model,
        "models": AttributionModel.choices,
        "settings": settings,
        "state": state,
        "totals": attribution_totals(**window),
        "sources": sources,
        "chart_labels": labels,
        "chart_series": series,
        "errors": errors,
        "can_configure": _can_configure(request),
    }
    template = "analytics/attribution.html#body" if request.htmx else "analytics/attribution.html"
    return render(request, template, context, status=400 if errors else 200)


@workspace_view
def attribution_export(request: HttpRequest) -> HttpResponse:
    """The report's table as CSV: one row per workflow or broadcast, then the revenue no
    message earned — same period, model and figures as the page."""
    workspace = request.workspace  # type: ignore[attr-defined]
    state = attribution_state(workspace=workspace)
    period, _, model, errors = report_query(request.GET, workspace, state)
    if errors:
        text = "; ".join(f"{name}: {problem}" for name, problem in errors.items())
        return HttpResponse(text, status=400, content_type="text/plain")
    window = {"workspace": workspace, "start": period.start, "end": period.end, "model": model}
    totals = attribution_totals(**window)
    rows: list[list[Any]] = [
        [r["source_type"], r["source_id"], r["label"], r["conversions"], r["revenue"]]
        + [workspace.currency, model]
        for r in attribution_by_source(**window)
    ]
    unattributed = Decimal(totals["conversions"]) - totals["attributed_conversions"]
    rows.append(
        ["", "", "(not attributed)", unattributed, totals["unattributed_revenue"]]
        + [workspace.currency, model]
    )
    last = period.end.date() - timedelta(days=1)
    return csv_response(
        rows, filename=f"attribution-{period.first}-{last}-{model}", header=EXPORT_HEADER
    )


def _can_configure(request: HttpRequest) -> bool:
    return request.membership.can(Capability.MANAGE_WORKSPACE)  # type: ignore[attr-defined,no-any-return]


@workspace_view(write=Capability.MANAGE_WORKSPACE)
def attribution_settings_view(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    state = attribution_state(workspace=workspace)
    form = AttributionSettingsForm(
        request.POST if request.method == "POST" else None,
        initial=AttributionSettingsForm.initial_for(state.wanted),
    )
    if request.method == "POST" and form.is_valid():
        try:
            saved = attribution_config_save(workspace=workspace, data=form.cleaned_data)
        except ValidationFailed as error:
            form_errors_from(form, error)
        else:
            if saved.recomputing and saved.pending_generation != state.pending_generation:
                messages.success(
                    request,
                    "Attribution settings saved. Every conversion is being credited again "
                    "with them; the report shows the previous figures until that is done.",
                )
            else:
                messages.success(request, "Attribution settings saved.")
            return redirect("analytics:attribution_settings")
    context = {"form": form, "state": state, "can_edit": _can_configure(request)}
    return render(
        request, "analytics/attribution_settings.html", context, status=400 if form.errors else 200
    )


@workspace_view
def attribution_recompute_status(request: HtmxHttpRequest) -> HttpResponse:
    """The recompute's card alone: htmx polls it every second while it runs. The answer that
    finds it finished tells the page (HX-Trigger) so the report reloads its figures."""
    state = attribution_state(workspace=request.workspace)  # type: ignore[attr-defined]
    context = {"state": state, "can_edit": _can_configure(request)}
    response = render(request, "analytics/attribution_settings.html#recompute", context)
    if not state.recomputing:
        response["HX-Trigger"] = "attribution-recomputed"
    return response


@workspace_view(write=Capability.MANAGE_WORKSPACE)
@require_POST
def attribution_recompute(request: HtmxHttpRequest) -> HttpResponse:
    """Credit every conversion again with the settings asked for last (resumes one that
    stopped); safe to press twice."""
    state = attribution_recompute_start(workspace=request.workspace)  # type: ignore[attr-defined]
    if request.htmx:
        context = {"state": state, "can_edit": True}
        return render(request, "analytics/attribution_settings.html#recompute", context)
    messages.success(request, "Recomputing attribution for every conversion.")
    return redirect("analytics:attribution_settings")
