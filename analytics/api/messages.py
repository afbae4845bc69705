"""Messages over time and sending health in the management API, for BI tools: the same rows
as the CSV downloads of the messages panel (analytics.views.messages) and of Messages ›
Deliverability (messaging.selectors.sending_health_table), built by the same functions."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from analytics import selectors
from analytics.views.messages import KINDS, message_stats_report, message_stats_table
from messaging.selectors import sending_health_table
from workspaces.api.base import WorkspaceAPIView
from workspaces.errors import ValidationFailed

from .serializers import PeriodSerializer
from .views import _json

MESSAGES_RESPONSE = inline_serializer(
    "MessageStats",
    {
        "kind": serializers.ChoiceField(choices=KINDS),
        "id": serializers.IntegerField(),
        "name": serializers.CharField(),
        "node": serializers.CharField(help_text="The workflow node asked for, or empty."),
        "variant": serializers.CharField(
            allow_null=True, help_text="The broadcast variant asked for, or null."
        ),
        "period": PeriodSerializer(),
        "columns": serializers.ListField(
            child=serializers.CharField(), help_text="The CSV's header: day, then each count."
        ),
        "rows": serializers.ListField(
            child=serializers.DictField(),
            help_text="One object per day of the workspace's calendar (ISO 8601 `day`), keyed "
            "by the columns: the CSV's lines.",
        ),
    },
)
_HEALTH_ROW = inline_serializer(
    "SendingHealthRow",
    {
        "scope": serializers.ChoiceField(choices=["workspace", "domain", "broadcast", "workflow"]),
        "key": serializers.CharField(help_text="The domain, or the broadcast's/workflow's id."),
        "name": serializers.CharField(),
        "messages": serializers.IntegerField(help_text="Handed to a provider in the window."),
        "complaints": serializers.IntegerField(),
        "complaint_rate": serializers.FloatField(),
        "hard_bounces": serializers.IntegerField(),
        "hard_bounce_rate": serializers.FloatField(),
        "level": serializers.CharField(
            help_text="red, amber, green, or low_volume (too few messages to judge)."
        ),
    },
    many=True,
)
DELIVERABILITY_RESPONSE = inline_serializer(
    "SendingHealth",
    {"columns": serializers.ListField(child=serializers.CharField()), "rows": _HEALTH_ROW},
)


class MessageStatsView(WorkspaceAPIView):
    """A broadcast's, template's or workflow's messages per day (sent, delivered, opened,
    clicked …) for the period ending today — the lines of the messages panel's CSV."""

    @extend_schema(
        responses=MESSAGES_RESPONSE,
        parameters=[
            OpenApiParameter("kind", str, OpenApiParameter.PATH, enum=list(KINDS)),
            OpenApiParameter(
                "days",
                OpenApiTypes.INT,
                enum=list(selectors.PERIODS),
                description=f"The period: this many days ending today "
                f"(default {selectors.DEFAULT_PERIOD}).",
            ),
            OpenApiParameter("node", str, description="`workflow`: one node's messages only."),
            OpenApiParameter(
                "variant", OpenApiTypes.INT, description="`broadcast`: one variant's only."
            ),
        ],
    )
    def get(self, request: Request, kind: str, pk: int) -> Response:
        days = request.query_params.get("days")
        if days not in (None, "") and days not in {str(d) for d in selectors.PERIODS}:
            message = "one of " + ", ".join(str(d) for d in selectors.PERIODS)
            raise ValidationFailed(f"days: {message}.", fields={"days": message})
        context = message_stats_report(request, kind, pk)  # type: ignore[arg-type]
        header, rows = message_stats_table(context)
        period = context["period"]
        return Response(
            {
                "kind": kind,
                "id": pk,
                "name": context["name"],
                "node": context["node"],
                "variant": context["variant"],
                "period": {
                    "first": period.first.isoformat(),
                    "last": period.dates[-1].isoformat(),
                    "days": period.days,
                    "time_zone": str(period.zone),
                },
                "columns": header,
                "rows": [dict(zip(header, map(_json, row), strict=True)) for row in rows],
            }
        )


class DeliverabilityView(WorkspaceAPIView):
    """Sending health over the guard's window: the workspace's, each sending domain's,
    broadcast's and workflow's complaint and hard-bounce rates and level, worst first — the
    lines of Messages › Deliverability's CSV."""

    @extend_schema(responses=DELIVERABILITY_RESPONSE)
    def get(self, request: Request) -> Response:
        header, rows = sending_health_table(workspace=self.workspace)
        return Response(
            {"columns": header, "rows": [dict(zip(header, row, strict=True)) for row in rows]}
        )
