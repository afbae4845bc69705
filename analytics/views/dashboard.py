"""The analytics dashboard: growth, channels, workflows, broadcasts and revenue for a period.

One view and one template; an htmx request for another period swaps the page's body
(`#analytics`) with the same template's `body` partial."""

from __future__ import annotations

import json
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from analytics import panels, selectors
from analytics.funnels import funnel_first, steps_parse, window_parse
from analytics.models import DirtyHour, HourlyEventCount
from messaging.selectors import deliverability_overview
from workspaces.errors import ValidationFailed
from workspaces.export import csv_response
from workspaces.htmx import HtmxHttpRequest
from workspaces.models import Workspace
from workspaces.roles import Capability
from workspaces.scoping import scoped, workspace_view


def _freshness(request: HttpRequest) -> dict[str, Any]:
    """How current the rollups are: when the last hour was recounted and what is pending."""
    latest = (
        scoped(request, HourlyEventCount)
        .order_by("-updated_at")
        .values_list("updated_at", flat=True)
        .first()
    )
    return {"recounted_at": latest, "pending_hours": scoped(request, DirtyHour).count()}


def _saved_funnel(workspace: Workspace) -> dict[str, Any]:
    """The first saved funnel, and what is wrong with it when it no longer validates (a step
    naming something since removed, a rule added after it was saved): the panel says so
    instead of loading a result that cannot be counted."""
    funnel = funnel_first(workspace=workspace)
    problem = None
    if funnel is not None:
        try:
            steps_parse(workspace=workspace, steps=funnel.steps)
            window_parse(funnel.window_days)
        except ValidationFailed as error:
            problem = error.message
    return {"saved_funnel": funnel, "funnel_problem": problem}


@workspace_view
def dashboard(request: HtmxHttpRequest) -> HttpResponse:
    workspace = request.workspace  # type: ignore[attr-defined]
    days = selectors.period_days(request.GET.get("days"))
    period = selectors.period_ending_today(workspace=workspace, days=days)
    conversions = selectors.conversion_event_names(workspace=workspace)
    series = selectors.daily_series(workspace=workspace, period=period, conversions=conversions)
    _, contacts_per_day = selectors.new_contacts(workspace=workspace, period=period)
    labels = json.dumps([day.strftime("%b %-d") for day in period.dates])
    funnel = selectors.lifecycle_funnel(workspace=workspace)
    context = {
        "days": days,
        "periods": selectors.PERIODS,
        "period": period,
        "kpis": panels.kpis(workspace=workspace, period=period, conversions=conversions),
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
        **_saved_funnel(workspace),
        "freshness": _freshness(request),
        "deliverability": deliverability_overview(workspace=workspace),
        "can_edit": request.membership.can(Capability.EDIT_MARKETING),  # type: ignore[attr-defined]
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
        "control_label": f"Held out ({report.holdout_percent} %)",
        "days": days,
        "periods": selectors.PERIODS,
        "period": period,
        "currency": workspace.currency,
    }
    return render(request, "analytics/holdout.html", context)


@workspace_view
def control_group(request: HttpRequest) -> HttpResponse:
    """The workspace's global control group: do contacts who get marketing convert (and
    spend) more than those the control group holds back from all of it?"""
    workspace = request.workspace  # type: ignore[attr-defined]
    days = selectors.period_days(request.GET.get("days"))
    period = selectors.period_ending_today(workspace=workspace, days=days)
    report = selectors.control_group_report(workspace=workspace, period=period)
    outcome = report.outcome
    context = {
        "report": report,
        "treated": outcome.treated,
        "control": outcome.control,
        "treated_converted": outcome.treated_converted,
        "control_converted": outcome.control_converted,
        "conversion": outcome.conversion,
        "revenue": outcome.revenue,
        "control_label": f"Control group ({report.percent} %)",
        "entered_label": "Contacts",
        "days": days,
        "periods": selectors.PERIODS,
        "period": period,
        "currency": workspace.currency,
    }
    return render(request, "analytics/control_group.html", context)


# --- the panels loaded by htmx, and every panel's CSV -------------------------------------------

LAZY_PANELS = ("retention", "active-contacts", "segment-sizes", "scores")


@workspace_view
def dashboard_panel(request: HttpRequest, name: str) -> HttpResponse:
    """One of the panels the dashboard loads after the page (htmx): its named partial."""
    if name not in LAZY_PANELS:
        raise Http404("No such panel.")
    workspace = request.workspace  # type: ignore[attr-defined]
    try:
        params = panels.params_parse(request.GET)
        panels.segments_check(workspace=workspace, segment_ids=params.segment_ids)
    except ValidationFailed as error:
        return HttpResponse(error.message, status=400, content_type="text/plain; charset=utf-8")
    except panels.UnknownSegment:
        raise Http404("No such segment.") from None
    period = selectors.period_ending_today(workspace=workspace, days=params.days)
    context: dict[str, Any] = {"days": params.days, "period": period, "name": name}
    context.update(_PANEL_CONTEXT[name](workspace, period, params))
    partial = name.replace("-", "_")
    return render(request, f"analytics/dashboard.html#{partial}", context)


def _retention_context(
    workspace: Workspace, period: selectors.Period, params: panels.Params
) -> dict[str, Any]:
    retention = panels.cohort_retention(workspace=workspace, weeks=params.weeks)
    return {
        "retention": retention,
        "offsets": range(retention.weeks),
        "cohort_rows": [
            (cohort, list(zip(cohort.active, cohort.shares, strict=True)))
            for cohort in reversed(retention.cohorts)  # newest first, as people read them
        ],
    }


def _active_context(
    workspace: Workspace, period: selectors.Period, params: panels.Params
) -> dict[str, Any]:
    active = panels.active_contacts(workspace=workspace, period=period)
    return {
        "active": active,
        "active_labels": json.dumps([f"{week:%b %-d}" for week, _ in active.weeks]),
        "active_series": json.dumps(
            [{"label": "Active contacts", "data": [n for _, n in active.weeks]}]
        ),
    }


def _segments_context(
    workspace: Workspace, period: selectors.Period, params: panels.Params
) -> dict[str, Any]:
    series = panels.segment_sizes(
        workspace=workspace, period=period, segment_ids=params.segment_ids
    )
    return {
        "segment_series": series,
        "segment_labels": json.dumps([day.strftime("%b %-d") for day in period.dates]),
        "segment_chart": json.dumps([{"label": s.name, "data": s.sizes} for s in series]),
    }


def _scores_context(
    workspace: Workspace, period: selectors.Period, params: panels.Params
) -> dict[str, Any]:
    distribution = panels.score_distribution(workspace=workspace)
    return {
        "distribution": distribution,
        "score_labels": json.dumps([bucket.label for bucket in distribution.buckets]),
        "score_series": json.dumps(
            [{"label": "Contacts", "data": [bucket.contacts for bucket in distribution.buckets]}]
        ),
    }


_PANEL_CONTEXT = {
    "retention": _retention_context,
    "active-contacts": _active_context,
    "segment-sizes": _segments_context,
    "scores": _scores_context,
}


@workspace_view
def panel_export(request: HttpRequest, name: str) -> HttpResponse:
    """A panel's numbers as CSV: the same table the API serves for the same parameters."""
    if name not in panels.PANELS:
        raise Http404("No such panel.")
    workspace = request.workspace  # type: ignore[attr-defined]
    try:
        period, table = panels.panel_table(
            workspace=workspace, name=name, params=panels.params_parse(request.GET)
        )
    except ValidationFailed as error:
        return HttpResponse(error.message, status=400, content_type="text/plain; charset=utf-8")
    except panels.UnknownSegment:
        raise Http404("No such segment.") from None
    last = period.dates[-1]
    return csv_response(
        table.values(),
        filename=f"{name}-{period.first:%Y-%m-%d}-{last:%Y-%m-%d}",
        header=table.header,
    )
