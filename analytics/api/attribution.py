"""Attributed revenue in the management API, for BI tools: the same totals and sources as the
report page (analytics.attribution), with the settings they were computed with and the state
of a recompute under way."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from analytics.attribution import attribution_by_source, attribution_state, attribution_totals
from analytics.models import AttributionModel
from analytics.views.attribution import report_query
from workspaces.api.base import WorkspaceAPIView
from workspaces.errors import ValidationFailed

_MONEY = {"max_digits": 24, "decimal_places": 2, "coerce_to_string": True}
RESPONSE = inline_serializer(
    "AttributionReport",
    {
        "period": inline_serializer(
            "AttributionPeriod",
            {"first_day": serializers.DateField(), "last_day": serializers.DateField()},
        ),
        "model": serializers.ChoiceField(choices=AttributionModel.values),
        "currency": serializers.CharField(),
        "settings": inline_serializer(
            "AttributionSettingsInForce",
            {
                "conversion_events": serializers.ListField(child=serializers.CharField()),
                "click_window_days": serializers.IntegerField(),
                "open_window_days": serializers.IntegerField(),
            },
        ),
        "recompute": inline_serializer(
            "AttributionRecompute",
            {
                "status": serializers.CharField(help_text="idle, queued, running or failed"),
                "done": serializers.IntegerField(),
                "total": serializers.IntegerField(),
                "percent": serializers.IntegerField(),
                "pending_settings": serializers.DictField(allow_null=True),
            },
        ),
        "totals": inline_serializer(
            "AttributionTotals",
            {
                "conversions": serializers.IntegerField(),
                "revenue": serializers.DecimalField(**_MONEY),
                "attributed_revenue": serializers.DecimalField(**_MONEY),
                "unattributed_revenue": serializers.DecimalField(**_MONEY),
            },
        ),
        "sources": inline_serializer(
            "AttributionSource",
            {
                "source_type": serializers.CharField(),
                "source_id": serializers.CharField(),
                "label": serializers.CharField(),
                "conversions": serializers.DecimalField(max_digits=24, decimal_places=6),
                "revenue": serializers.DecimalField(**_MONEY),
            },
            many=True,
        ),
    },
)


class AttributionReportView(WorkspaceAPIView):
    """Revenue credited to workflows and broadcasts for a period and model. While a recompute
    runs (new settings), the figures are those of the settings still in force, as on the
    page; `recompute` says how far the new ones are."""

    @extend_schema(
        parameters=[
            OpenApiParameter("days", int, enum=[7, 30, 90], description="the last N days"),
            OpenApiParameter("from", str, description="first day (YYYY-MM-DD), included"),
            OpenApiParameter("to", str, description="last day (YYYY-MM-DD), included"),
            OpenApiParameter("model", str, enum=AttributionModel.values),
        ],
        responses=RESPONSE,
    )
    def get(self, request: Request) -> Response:
        workspace = self.workspace
        state = attribution_state(workspace=workspace)
        period, _, model, errors = report_query(request.query_params, workspace, state)
        if errors:
            summary = "; ".join(f"{name}: {problem}" for name, problem in errors.items())
            raise ValidationFailed(summary, fields=errors)
        window = {"workspace": workspace, "start": period.start, "end": period.end, "model": model}
        totals = attribution_totals(**window)
        return Response(
            {
                "period": {"first_day": period.first, "last_day": period.dates[-1]},
                "model": model,
                "currency": workspace.currency,
                "settings": _settings(state.settings),
                "recompute": {
                    "status": state.status,
                    "done": state.done,
                    "total": state.total,
                    "percent": state.percent,
                    "pending_settings": _settings(state.pending) if state.pending else None,
                },
                "totals": {key: totals[key] for key in _TOTALS},
                "sources": attribution_by_source(**window),
            }
        )


_TOTALS = ("conversions", "revenue", "attributed_revenue", "unattributed_revenue")


def _settings(settings: Any) -> dict[str, Any]:
    return {
        "conversion_events": settings.conversion_events,
        "click_window_days": settings.click_window_days,
        "open_window_days": settings.open_window_days,
    }
