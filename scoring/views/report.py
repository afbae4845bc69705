"""The model validation report page: a period and an outcome in, charts and tables out."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from scoring.models import ScoringModel
from scoring.report import MIN_CONVERSIONS, MIN_SIGNAL, OUTCOMES, validation_report
from workspaces.scoping import scoped, workspace_view

DEFAULT_DAYS = 90


def _day(raw: str | None, fallback: date) -> tuple[date, str]:
    if not raw:
        return fallback, ""
    try:
        return date.fromisoformat(raw), ""
    except ValueError:
        return fallback, f"“{raw}” is not a date (YYYY-MM-DD)"


@workspace_view
def validation_report_view(request: HttpRequest, model_id: int) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    model = get_object_or_404(scoped(request, ScoringModel), pk=model_id)
    zone = ZoneInfo(workspace.timezone or "UTC")
    today = timezone.now().astimezone(zone).date()
    errors: dict[str, str] = {}
    first, problem = _day(request.GET.get("start"), today - timedelta(days=DEFAULT_DAYS))
    if problem:
        errors["start"] = problem
    last, problem = _day(request.GET.get("end"), today)
    if problem:
        errors["end"] = problem
    if last < first:
        errors["end"] = "the end must not be before the start"
        first, last = last, first
    outcome = request.GET.get("outcome") or "customer"
    if outcome not in OUTCOMES:
        errors["outcome"] = f"one of {', '.join(OUTCOMES)}"
        outcome = "customer"
    start = datetime.combine(first, time.min, tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone)
    report = validation_report(
        workspace=workspace, model=model, start=start, end=end, outcome=outcome
    )
    context = {
        "model": model,
        "report": report,
        "first": first,
        "last": last,
        "outcome": outcome,
        "outcomes": OUTCOMES,
        "errors": errors,
        "min_signal": MIN_SIGNAL,
        "min_conversions": MIN_CONVERSIONS,
        "band_labels": json.dumps([b.label for b in report.bands]),
        "band_series": json.dumps(
            [
                {
                    "label": "Conversion rate (%)",
                    "data": [round(b.rate * 100, 1) for b in report.bands],
                }
            ]
        ),
        "funnel_labels": json.dumps(["MQL", "SQL", "Customer"]),
        "funnel_series": json.dumps(
            [
                {
                    "label": "Contacts",
                    "data": [report.funnel.mql, report.funnel.sql, report.funnel.customer],
                }
            ]
        ),
        "roc_labels": json.dumps([f"{fpr:.2f}" for fpr, _ in report.roc]),
        "roc_series": json.dumps(
            [
                {"label": "Model", "data": [round(tpr, 3) for _, tpr in report.roc]},
                {
                    "label": "Chance",
                    "data": [round(fpr, 3) for fpr, _ in report.roc],
                    "fill": False,
                },
            ]
        ),
        "lift_labels": json.dumps([r.rule.name for r in report.rules if r.enough_data]),
        "lift_series": json.dumps(
            [{"label": "Lift", "data": [round(r.lift, 2) for r in report.rules if r.enough_data]}]
        ),
    }
    return render(request, "scoring/report.html", context, status=400 if errors else 200)
