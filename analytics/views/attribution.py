"""Attribution pages: the revenue report (also the dashboard's htmx panel) and its settings."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse

from analytics.attribution import (
    attribution_by_source,
    attribution_config_save,
    attribution_settings,
    attribution_totals,
)
from analytics.forms import AttributionSettingsForm
from analytics.models import AttributionModel
from analytics.selectors import PERIODS, Period, period_days, period_ending_today
from workspaces.errors import ValidationFailed
from workspaces.forms import form_errors_from
from workspaces.htmx import HtmxHttpRequest
from workspaces.models import Workspace
from workspaces.roles import Capability
from workspaces.scoping import workspace_view

CHART_SOURCES = 10  # the chart shows the top sources; the table lists them all
SOURCE_PAGES = {"workflow": "workflows:detail", "broadcast": "messaging:broadcast_detail"}


def _day(raw: str, name: str, errors: dict[str, str]) -> date | None:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = f"“{raw}” is not a date (YYYY-MM-DD)"
        return None


def _period(
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
    settings = attribution_settings(workspace=workspace)
    errors: dict[str, str] = {}
    period, preset = _period(request.GET, workspace, errors)
    model = request.GET.get("model") or settings.default_model
    if model not in AttributionModel.values:
        errors["model"] = f"one of {', '.join(AttributionModel.values)}"
        model = settings.default_model
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
        "totals": attribution_totals(**window),
        "sources": sources,
        "chart_labels": labels,
        "chart_series": series,
        "errors": errors,
        "can_configure": request.membership.can(Capability.MANAGE_WORKSPACE),  # type: ignore[attr-defined]
    }
    template = "analytics/attribution.html#body" if request.htmx else "analytics/attribution.html"
    return render(request, template, context, status=400 if errors else 200)


@workspace_view(write=Capability.MANAGE_WORKSPACE)
def attribution_settings_view(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    form = AttributionSettingsForm(
        request.POST if request.method == "POST" else None,
        initial=AttributionSettingsForm.initial_for(attribution_settings(workspace=workspace)),
    )
    if request.method == "POST" and form.is_valid():
        try:
            attribution_config_save(workspace=workspace, data=form.cleaned_data)
        except ValidationFailed as error:
            form_errors_from(form, error)
        else:
            messages.success(request, "Attribution settings saved.")
            return redirect("analytics:attribution_settings")
    context = {
        "form": form,
        "can_edit": request.membership.can(Capability.MANAGE_WORKSPACE),  # type: ignore[attr-defined]
    }
    return render(
        request, "analytics/attribution_settings.html", context, status=400 if form.errors else 200
    )
