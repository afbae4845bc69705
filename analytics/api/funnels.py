"""Funnels in the management API, for BI tools: the saved funnels, and one funnel's counts for
a period — the same numbers as its page and its CSV (analytics.funnels)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from analytics import funnels, selectors
from analytics.models import Funnel
from workspaces.api.base import WorkspaceReadOnlyViewSet
from workspaces.api.pagination import IdCursorPagination
from workspaces.errors import ValidationFailed

DAYS = OpenApiParameter(
    "days",
    int,
    enum=list(selectors.PERIODS),
    description="Contacts entering in the last N whole days (the workspace's calendar, today "
    "included). Default 30.",
)


class FunnelSerializer(serializers.ModelSerializer):
    class Meta:
        model = Funnel
        fields = ["id", "name", "window_days", "steps", "exclusions", "breakdown", "created_at"]
        read_only_fields = fields


_STEP = inline_serializer(
    "FunnelStepResult",
    {
        "step": serializers.IntegerField(),
        "label": serializers.CharField(),
        "contacts": serializers.IntegerField(),
        "share_of_previous": serializers.FloatField(allow_null=True),
        "share_of_step_1": serializers.FloatField(allow_null=True),
        "median_seconds_from_previous": serializers.FloatField(allow_null=True),
    },
    many=True,
)
_VALUE = inline_serializer(
    "FunnelBreakdownValue",
    {
        "value": serializers.CharField(help_text='"(other)": the values past the top N summed'),
        "contacts": serializers.ListField(child=serializers.IntegerField()),
        "completed": serializers.FloatField(allow_null=True),
    },
    many=True,
)
RESULT = inline_serializer(
    "FunnelResult",
    {
        "funnel": FunnelSerializer(),
        "period": inline_serializer(
            "FunnelPeriod",
            {
                "days": serializers.IntegerField(),
                "start": serializers.DateTimeField(),
                "end": serializers.DateTimeField(),
            },
        ),
        "entered": serializers.IntegerField(),
        "converted": serializers.IntegerField(),
        "excluded": serializers.IntegerField(help_text="entered, then left out by an exclusion"),
        "steps": _STEP,
        "breakdown": inline_serializer(
            "FunnelBreakdown",
            {"label": serializers.CharField(), "values": _VALUE},
        ),
    },
)


def _days(request: Request) -> int:
    raw = request.query_params.get("days")
    if raw is not None and raw not in {str(days) for days in selectors.PERIODS}:
        choices = ", ".join(map(str, selectors.PERIODS))
        raise ValidationFailed(f"days: one of {choices}.", fields={"days": f"one of {choices}"})
    return selectors.period_days(raw)


def funnel_result_data(funnel: Funnel, result: funnels.FunnelResult, days: int) -> dict[str, Any]:
    return {
        "funnel": FunnelSerializer(funnel).data,
        "period": {"days": days, "start": result.start, "end": result.end},
        "entered": result.entered,
        "converted": result.converted,
        "excluded": result.excluded,
        "steps": [
            {
                "step": number,
                "label": row.step.label,
                "contacts": row.contacts,
                "share_of_previous": row.from_previous,
                "share_of_step_1": row.from_first,
                "median_seconds_from_previous": row.median_seconds,
            }
            for number, row in enumerate(result.steps, start=1)
        ],
        "breakdown": {
            "label": result.breakdown.label,
            "values": [
                {"value": row.value, "contacts": row.counts, "completed": row.converted}
                for row in result.rows
            ],
        },
    }


class FunnelViewSet(WorkspaceReadOnlyViewSet):
    """Saved funnels (`GET /analytics/funnels/`), and one funnel's counts for a period:
    contacts per step, conversion, median times, the contacts its exclusions left out and
    its breakdown (`GET /analytics/funnels/{id}/?days=30`). Counting is bounded in time: a
    funnel too slow to count answers 503 `funnel_timeout`."""

    queryset = Funnel.objects.order_by("-pk")
    serializer_class = FunnelSerializer
    pagination_class = IdCursorPagination

    @extend_schema(parameters=[DAYS], responses=RESULT)
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        funnel = self.get_object()
        days = _days(request)
        period = selectors.period_ending_today(workspace=self.workspace, days=days)
        result = funnels.funnel_compute(
            workspace=self.workspace,
            steps=funnels.funnel_definition(funnel=funnel),
            window_days=funnel.window_days,
            start=period.start,
            end=period.end,
        )
        return Response(funnel_result_data(funnel, result, days))
