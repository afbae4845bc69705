"""Reads of attributed revenue for the report page and the dashboard."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, ExpressionWrapper, F, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from analytics.models import AttributedConversion, AttributionConfig
from workspaces.models import Workspace

ZERO = Decimal(0)
_MONEY: DecimalField = DecimalField(max_digits=24, decimal_places=8)
_CREDITED = ExpressionWrapper(F("revenue") * F("credit"), output_field=_MONEY)


def _period(*, workspace: Workspace, start: datetime, end: datetime, model: str) -> QuerySet:
    """The model's rows of conversions in [start, end), of the current generation (a
    recompute's rows stay out until it is complete) — read through attribution_ws_time."""
    current = AttributionConfig.objects.filter(workspace=workspace).values("generation")[:1]
    return AttributedConversion.objects.filter(
        workspace=workspace,
        generation=Coalesce(Subquery(current), Value(0)),
        model=model,
        converted_at__gte=start,
        converted_at__lt=end,
    )


def _money(value: Decimal | None) -> Decimal:
    return (value or ZERO).quantize(Decimal("0.01"))


def _labels(workspace: Workspace, keys: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """Workflow and broadcast names (two queries at most, whatever the number of sources)."""
    from messaging.models import Broadcast
    from workflows.models import Workflow

    wanted: dict[str, list[int]] = {"workflow": [], "broadcast": []}
    for source_type, source_id in keys:
        if source_type in wanted and source_id.isdigit():
            wanted[source_type].append(int(source_id))
    labels: dict[tuple[str, str], str] = {}
    for source_type, model in (("workflow", Workflow), ("broadcast", Broadcast)):
        if wanted[source_type]:
            rows = model.objects.filter(workspace=workspace, pk__in=wanted[source_type])
            for pk, name in rows.values_list("pk", "name"):
                labels[(source_type, str(pk))] = name
    return labels


def _fallback_label(source_type: str, source_id: str) -> str:
    if not source_id:
        return f"Deleted {source_type} run"
    return f"Deleted {source_type} #{source_id}"


def attribution_by_source(
    *, workspace: Workspace, start: datetime, end: datetime, model: str
) -> list[dict[str, Any]]:
    """Per workflow / broadcast: conversions (sum of credit) and revenue (revenue × credit),
    highest revenue first. Conversions credited to no message are left out (see totals)."""
    rows = (
        _period(workspace=workspace, start=start, end=end, model=model)
        .filter(message_id__isnull=False)
        .values("source_type", "source_id")
        .annotate(conversions=Sum("credit"), revenue=Sum(_CREDITED))
        .order_by("-revenue", "-conversions", "source_type", "source_id")
    )
    found = list(rows)
    labels = _labels(workspace, {(row["source_type"], row["source_id"]) for row in found})
    return [
        {
            "source_type": row["source_type"],
            "source_id": row["source_id"],
            "label": labels.get((row["source_type"], row["source_id"]))
            or _fallback_label(row["source_type"], row["source_id"]),
            "conversions": row["conversions"] or ZERO,
            "revenue": _money(row["revenue"]),
        }
        for row in found
    ]


def attribution_totals(
    *, workspace: Workspace, start: datetime, end: datetime, model: str
) -> dict[str, Any]:
    """Conversions and revenue in the period, and how much of the revenue the model credits
    to some message (attributed) or to none (unattributed). One query."""
    touched = Q(message_id__isnull=False)
    sums = _period(workspace=workspace, start=start, end=end, model=model).aggregate(
        conversions=Coalesce(Sum("credit"), ZERO, output_field=_MONEY),
        # (not named after a field: an aggregate named "revenue" would shadow the column)
        all_revenue=Sum(_CREDITED),
        touched_revenue=Sum(_CREDITED, filter=touched),
        touched_conversions=Sum("credit", filter=touched),
    )
    attributed = _money(sums["touched_revenue"])
    revenue = _money(sums["all_revenue"])
    return {
        # Each conversion's credits under one model sum to exactly 1.
        "conversions": int((sums["conversions"] or ZERO).to_integral_value()),
        "revenue": revenue,
        "attributed_revenue": attributed,
        "unattributed_revenue": revenue - attributed,
        "attributed_conversions": sums["touched_conversions"] or ZERO,
    }
