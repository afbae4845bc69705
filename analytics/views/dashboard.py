"""The analytics dashboard: growth, channels, workflows, broadcasts and revenue for a period.

One view and one template; an htmx request for another period swaps the page's body
(`#analytics`) with the same template's `body` partial."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from analytics import selectors
from analytics.funnels import funnel_first
from analytics.models import DirtyHour, HourlyEventCount
from workspaces.htmx import HtmxHttpRequest
from workspaces.models import Workspace
from workspaces.scoping import scoped, workspace_view


def _change(now: float, before: float) -> float | None:
    """Relative change to the previous period (None when there is nothing to compare with)."""
    return (now - before) / before if before else None


def _kpis(
    workspace: Workspace, period: selectors.Period, conversions: list[str], contacts: int
) -> list[dict[str, Any]]:
    previous = period.previous()
    totals = selectors.event_totals(workspace=workspace, period=period, conversions=conversions)
    before = selectors.event_totals(workspace=workspace, period=previous, conversions=conversions)
    contacts_before, _ = selectors.new_contacts(workspace=workspace, period=previous)
    pairs: list[tuple[str, str, int | Decimal, int | Decimal, bool]] = [
        ("new_contacts", "New contacts", contacts, contacts_before, False),
        ("page_views", "Page views", totals.page_views, before.page_views, False),
        ("emails_sent", "Emails sent", totals.emails_sent, before.emails_sent, False),
        ("conversions", "Conversions", totals.conversions, before.conversions, False),
        ("revenue", "Revenue", totals.revenue, before.revenue, True),
    ]
    return [
        {
            "key": key,
            "label": label,
            "value": value,
            "money": money,
            "change": _change(float(value), float(previous)),
        }
        for key, label, value, previous, money in pairs
    ]


def _freshness(request: HttpRequest) -> dict[str, Any]:
    """How current the rollups are: when the last hour was recounted and what is pending."""
    latest = (
        scoped(request, HourlyEventCount)
        .order_by("-updated_at")
        .values_list("updated_at", flat=True)
        .first()
    )
    return {"recounted_at": latest, "pending_hours": scoped(request, DirtyHour).count()}


@workspace_view
def dashboard(request: HtmxHttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    days = selectors.period_days(request.GET.get("days"))
    period = selectors.period_ending_today(workspace=workspace, days=days)
    conversions = selectors.conversion_event_names(workspace=workspace)
    series = selectors.daily_series(workspace=workspace, period=period, conversions=conversions)
    contacts, contacts_per_day = selectors.new_contacts(workspace=workspace, period=period)
    labels = json.dumps([day.strftime("%b %-d") for day in period.dates])
    funnel = selectors.lifecycle_funnel(workspace=workspace)
    context = {
        "days": days,
        "periods": selectors.PERIODS,
        "period": period,
        "kpis": _kpis(workspace, period, conversions, contacts),
        "labels": labels,
        "activity_series": json.dumps(
            [
                {"label": "Page views", "data": series["page_views"]},
                {"label": "Emails sent", "data": series["emails_sent"]},
                {"label": "New contacts", "data": contacts_per_day},
            ]
        ),
        "revenue_series": json.dumps(
            [{"label": f"Revenue ({workspace.currency})", "data": series["revenue"]}]
        ),
        "funnel": funnel,
        "funnel_labels": json.dumps([row["label"] for row in funnel]),
        "funnel_series": json.dumps(
            [{"label": "Contacts", "data": [row["reached"] for row in funnel]}]
        ),
        "channels": selectors.message_rates(workspace=workspace, period=period),
        "workflows": selectors.workflow_results(workspace=workspace, period=period),
        "broadcasts": selectors.broadcast_results(workspace=workspace, period=period),
        "top_events": selectors.top_events(workspace=workspace, period=period),
        "saved_funnel": funnel_first(workspace=workspace),
        "freshness": _freshness(request),
        "now": timezone.now(),
    }
    template = "analytics/dashboard.html#body" if request.htmx else "analytics/dashboard.html"
    return render(request, template, context)


@workspace_view
def workflow_holdout(request: HttpRequest, pk: int) -> HttpResponse:
    """A workflow's holdout: did entering it make contacts convert (and spend) more than the
    share held out of it?"""
    workspace = request.workspace  # type: ignore[attr-defined]
    days = selectors.period_days(request.GET.get("days"))
    period = selectors.period_ending_today(workspace=workspace, days=days)
    report = selectors.workflow_holdout(workspace=workspace, workflow_id=pk, period=period)
    if report is None:
        raise Http404("No such workflow.")
    context = {
        "report": report,
        "days": days,
        "periods": selectors.PERIODS,
        "period": period,
        "currency": workspace.currency,
    }
    return render(request, "analytics/holdout.html", context)
