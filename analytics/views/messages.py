"""Messaging over time: a broadcast's, template's or workflow's messages per day of the
workspace's calendar — chart, table and CSV (the same numbers). The broadcast, template and
workflow pages load the panel by htmx (`message_stats.html#panel`)."""

from __future__ import annotations

import json
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse

from analytics import selectors
from messaging.selectors import broadcast_get, template_get
from workflows.selectors import workflow_list
from workspaces.export import csv_response
from workspaces.htmx import HtmxHttpRequest
from workspaces.models import Workspace
from workspaces.scoping import workspace_view

KINDS = ("broadcast", "template", "workflow")


def _source(
    request: HttpRequest, kind: str, pk: int
) -> tuple[selectors.MessageSource, dict[str, Any]]:
    """The source asked for, with what the panel shows about it; 404 when it is not this
    workspace's (or the node/variant asked for is not one of its own)."""
    workspace: Workspace = request.workspace  # type: ignore[attr-defined]
    node, variant = request.GET.get("node", ""), request.GET.get("variant", "")
    about: dict[str, Any] = {"kind": kind, "id": pk, "node": "", "variant": None, "choices": []}
    if kind == "broadcast":
        broadcast = broadcast_get(workspace=workspace, broadcast_id=pk)
        if broadcast is None:
            raise Http404("No such broadcast.")
        variants = {str(v.pk): v for v in broadcast.variants.all()}
        if variant and variant not in variants:
            raise Http404("No such variant.")
        about.update(
            name=broadcast.name,
            choice_name="variant",
            choices=[(key, f"Variant {v.label}") for key, v in variants.items()],
            variant=variant or None,
        )
        return selectors.MessageSource(
            "broadcast", pk, variant_id=int(variant) if variant else None
        ), about
    if kind == "template":
        template = template_get(workspace=workspace, template_id=pk)
        if template is None:
            raise Http404("No such template.")
        about.update(name=template.name)
        return selectors.MessageSource("template", pk), about
    if kind == "workflow":
        workflow = workflow_list(workspace=workspace).filter(pk=pk).first()
        if workflow is None:
            raise Http404("No such workflow.")
        nodes = selectors.message_nodes(workspace=workspace, workflow_id=pk)
        if node and node not in nodes:
            raise Http404("No such node.")
        about.update(
            name=workflow.name, choice_name="node", choices=[(n, n) for n in nodes], node=node
        )
        return selectors.MessageSource("workflow", pk, node=node), about
    raise Http404("No such kind of source.")


def _report(request: HttpRequest, kind: str, pk: int) -> dict[str, Any]:
    workspace: Workspace = request.workspace  # type: ignore[attr-defined]
    source, about = _source(request, kind, pk)
    days = selectors.period_days(request.GET.get("days"))
    period = selectors.period_ending_today(workspace=workspace, days=days)
    rows = selectors.message_counts_daily(workspace=workspace, period=period, source=source)
    by = {"broadcast": "variant_id", "workflow": "node"}.get(kind)
    breakdown = (
        selectors.message_counts_by(workspace=workspace, period=period, source=source, by=by)
        if by and about["choices"] and not (source.node or source.variant_id)
        else []
    )
    names = dict(about["choices"])
    for row in breakdown:
        key = str(row["key"]) if row["key"] else ""
        row["label"] = names.get(key, key or "No variant")
    labels = [day.strftime("%b %-d") for day in period.dates]
    series = [
        {"label": label, "data": [row[key] for row in rows]}
        for key, label in selectors.MESSAGE_STATS
        if key in ("sent", "opened", "machine_opened", "clicked")
    ]
    query = request.GET.copy()
    query.pop("days", None)
    return {
        **about,
        "rows": rows,
        "total": selectors.message_counts_total(rows),
        "columns": selectors.MESSAGE_STATS,
        "breakdown": breakdown,
        "choice_label": names.get(about["variant"] or about["node"] or "", ""),
        "days": days,
        "periods": selectors.PERIODS,
        "period": period,
        "labels": json.dumps(labels),
        "series": json.dumps(series),
        "url": reverse("analytics:message_stats", args=[kind, pk]),
        "csv_url": reverse("analytics:message_stats_csv", args=[kind, pk]),
        "query": query.urlencode(),
        "zone": period.zone.key,
    }


@workspace_view
def message_stats(request: HtmxHttpRequest, kind: str, pk: int) -> HttpResponse:
    context = _report(request, kind, pk)
    template = (
        "analytics/message_stats.html#panel" if request.htmx else "analytics/message_stats.html"
    )
    return render(request, template, context)


@workspace_view
def message_stats_csv(request: HttpRequest, kind: str, pk: int) -> StreamingHttpResponse:
    """The table as CSV (the shared streaming helper): one line per day, the same numbers."""
    context = _report(request, kind, pk)
    header, rows = message_stats_table(context)
    suffix = f"-node-{context['node']}" if context["node"] else ""
    suffix += f"-variant-{context['variant']}" if context["variant"] else ""
    return csv_response(
        rows, filename=f"messages-{kind}-{pk}{suffix}-{context['days']}d", header=header
    )


def message_stats_report(request: HttpRequest, kind: str, pk: int) -> dict[str, Any]:
    """The panel's numbers for `kind`/`pk` and the request's ?days, ?node, ?variant (404 when
    the source is not this workspace's): what the CSV and /api/v1/analytics/messages/ read."""
    return _report(request, kind, pk)


def message_stats_table(context: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """The CSV's header and lines (one per day) — the API answers these same rows."""
    keys = [key for key, _ in context["columns"]]
    return ["day", *keys], [[row["day"], *(row[key] for key in keys)] for row in context["rows"]]
