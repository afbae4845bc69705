"""The dashboard's panels for BI tools: `/api/v1/analytics/panels/` lists them,
`/api/v1/analytics/panels/<name>/` answers one as columns and rows — the same table as the
dashboard's CSV download for the same parameters (analytics.panels)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from workspaces.api.base import WorkspaceAPIView
from workspaces.errors import NotFound

from .. import panels, selectors
from .serializers import PanelSerializer, PanelTableSerializer

_PANEL_LIST = "\n".join(f"- `{p.name}`: {p.description}" for p in panels.PANELS.values())


def _json(value: Any) -> Any:
    """A cell as JSON: dates and datetimes in ISO 8601, decimals as numbers."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


class PanelListView(WorkspaceAPIView):
    """The dashboard's panels that the API serves."""

    @extend_schema(responses=PanelSerializer(many=True), description=_PANEL_LIST)
    def get(self, request: Request) -> Response:
        return Response(
            [
                {"name": p.name, "title": p.title, "description": p.description}
                for p in panels.PANELS.values()
            ]
        )


class PanelView(WorkspaceAPIView):
    """One panel of the analytics dashboard as a table, for the period ending today."""

    @extend_schema(
        responses=PanelTableSerializer,
        description="The panels and what their rows hold:\n\n" + _PANEL_LIST,
        parameters=[
            OpenApiParameter(
                "name",
                str,
                OpenApiParameter.PATH,
                enum=list(panels.PANELS),
                description="The panel.",
            ),
            OpenApiParameter(
                "days",
                OpenApiTypes.INT,
                description=f"The period: this many days ending today, 1–{panels.MAX_DAYS} "
                f"(default {selectors.DEFAULT_PERIOD}).",
            ),
            OpenApiParameter(
                "weeks",
                OpenApiTypes.INT,
                description=f"`retention`: sign-up weeks and weeks after, 1–{panels.COHORT_WEEKS}.",
            ),
            OpenApiParameter(
                "segment",
                OpenApiTypes.INT,
                many=True,
                description=f"`segment-sizes`: segment ids (up to {panels.SEGMENTS_MAX}); "
                f"default the {panels.SEGMENTS_SHOWN} largest.",
            ),
        ],
    )
    def get(self, request: Request, name: str) -> Response:
        panel = panels.PANELS.get(name)
        if panel is None:
            raise NotFound(f"No panel named '{name}'; GET /api/v1/analytics/panels/ lists them.")
        params = panels.params_parse(request.query_params)
        try:
            period, table = panels.panel_table(workspace=self.workspace, name=name, params=params)
        except panels.UnknownSegment as error:
            raise NotFound(f"No segment {error.args[0]} in this workspace.") from None
        return Response(
            {
                "panel": panel.name,
                "title": panel.title,
                "period": {
                    "first": period.first.isoformat(),
                    "last": period.dates[-1].isoformat(),
                    "days": period.days,
                    "time_zone": str(period.zone),
                },
                "columns": [{"key": c.key, "label": c.label} for c in table.columns],
                "rows": [{k: _json(v) for k, v in row.items()} for row in table.rows],
            }
        )
