"""The builder's API: what the canvas (frontend/, React Flow) calls while a marketer edits.

/api/v1/workflows/{id}/draft/                    GET the draft + revision; PUT {graph, revision}
/api/v1/workflows/{id}/validate/                 POST {graph?}: errors, warnings, summaries
/api/v1/workflows/{id}/publish-summary/          GET who can enter, how many match now
/api/v1/workflows/{id}/versions/{vid}/           GET one version (read-only)
/api/v1/workflows/{id}/versions/{vid}/restore/   POST {revision?}: that graph becomes the draft
/api/v1/workflows/{id}/overlay/                  GET ?from=&to= per-node numbers for the canvas
/api/v1/workflows/{id}/nodes/{node}/contacts/    GET ?state=&from=&to= contacts at / through a node
/api/v1/workflows/{id}/nodes/{node}/decision/    GET ?from=&to= an A/B split's results and call
/api/v1/workflows/{id}/nodes/{node}/winner/      POST {variant|null}: all future traffic to it
/api/v1/workflows/autocomplete/events|properties|fields/
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from workspaces.errors import NotFound, ValidationFailed
from workspaces.models import User

from .. import integrations, selectors, services
from ..entry import publish_summary
from ..graph.validation import graph_report
from ..graph.words import graph_summaries
from ..localtime import contact_zone
from ..models import Workflow, WorkflowRun, WorkflowVersion
from ..nodes import forms, node_type
from ..preview.history import preview_on_history
from .serializers import VersionSerializer

MAX_RANGE_DAYS = 366
EMPTY_GRAPH: dict[str, Any] = {"nodes": [], "edges": []}


class DraftSaveSerializer(serializers.Serializer):
    graph = serializers.JSONField(help_text="The whole graph (nodes and edges).")
    revision = serializers.CharField(
        required=False,
        max_length=64,
        help_text="The revision the editor loaded (GET draft/); or send it as If-Match.",
    )


class RestoreSerializer(serializers.Serializer):
    revision = serializers.CharField(required=False, max_length=64)


class PreviewSerializer(serializers.Serializer):
    days = serializers.IntegerField(
        required=False, default=30, min_value=1, max_value=90, help_text="Replay the last N days."
    )
    sample = serializers.IntegerField(
        required=False,
        default=500,
        min_value=1,
        max_value=2000,
        help_text="Contacts walked one by one (the rest is scaled).",
    )
    graph = serializers.JSONField(required=False, help_text="Default: the saved draft.")


class SplitWinnerSerializer(serializers.Serializer):
    variant = serializers.CharField(
        allow_null=True,
        max_length=40,
        help_text="The variant every future contact takes; null resumes the split.",
    )


class ValidateSerializer(serializers.Serializer):
    graph = serializers.JSONField(required=False, help_text="Default: the saved draft.")


RANGE_PARAMS = [
    OpenApiParameter("from", OpenApiTypes.DATE, description="First day (workspace time zone)."),
    OpenApiParameter("to", OpenApiTypes.DATE, description="Last day, included."),
]
STATE_PARAM = OpenApiParameter(
    "state",
    str,
    enum=list(selectors.NODE_CONTACT_STATES),
    description="at (now, default), entered, completed or failed (in the range).",
)
PREFIX_PARAM = OpenApiParameter("q", str, description="Prefix to search (case-insensitive).")
LIMIT_PARAM = OpenApiParameter("limit", int, description="At most this many (1-100, 20).")


def _day(raw: str, name: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(
            f"{name}: expected a date such as 2025-01-31.", fields={name: ["expected YYYY-MM-DD"]}
        ) from None


def date_range(request: Request, workflow: Workflow) -> dict[str, Any]:
    """?from=&to= (days in the workspace's time zone, inclusive) → [since, until) in UTC."""
    params = request.query_params
    raw_from, raw_to = params.get("from") or "", params.get("to") or ""
    zone = contact_zone(None, workflow.workspace.timezone)
    if not raw_from and not raw_to:
        return {"since": None, "until": None, "from": None, "to": None, "timezone": zone.key}
    today = timezone.now().astimezone(zone).date()
    last = _day(raw_to, "to") if raw_to else today
    first = _day(raw_from, "from") if raw_from else last - timedelta(days=29)
    if first > last:
        raise ValidationFailed(
            "from: the range starts after it ends.", fields={"from": ["must not be after `to`"]}
        )
    if (last - first).days >= MAX_RANGE_DAYS:
        raise ValidationFailed(
            f"from: at most {MAX_RANGE_DAYS} days at once.",
            fields={"from": [f"at most {MAX_RANGE_DAYS} days"]},
        )
    return {
        "since": datetime.combine(first, time.min, tzinfo=zone),
        "until": datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone),
        "from": first.isoformat(),
        "to": last.isoformat(),
        "timezone": zone.key,
    }


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit") or "20"
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        raise ValidationFailed(
            "limit: a whole number from 1 to 100.", fields={"limit": ["1 to 100"]}
        )
    return int(raw)


def _if_match(request: Request, body: dict[str, Any]) -> str | None:
    if body.get("revision"):
        return str(body["revision"])
    header = request.headers.get("If-Match", "").strip()
    if header.startswith("W/"):
        header = header[2:]
    return header.strip('"') or None


def node_numbers(request: Request, workflow: Workflow, row: Any) -> Response:
    """Per-node numbers in the ?from=&to= range: `row(NodeStats, overlay dict)` shapes each
    (stats/ and overlay/ say the same numbers in their own terms)."""
    window = date_range(request, workflow)
    since, until = window["since"], window["until"]
    stats = selectors.node_stats(workflow=workflow, since=since, until=until)
    calls = {
        split.node_id: split.short
        for split in selectors.split_decisions(workflow=workflow, since=since, until=until)
    }
    nodes = []
    for item in stats.values():
        spec = node_type(item.type)
        overlay = item.overlay(forms.port_labels(spec) if spec else {})
        if item.node_id in calls:  # an A/B split: its call, as its panel says it
            overlay["call"] = calls[item.node_id]
        nodes.append(row(item, overlay))
    return Response(
        {
            "range": {k: window[k] for k in ("from", "to", "timezone")},
            "runs": selectors.run_counts(workflow=workflow),
            "nodes": nodes,
        }
    )


class BuilderActions:
    """Mixed into WorkflowViewSet (which provides get_object, workspace, paginate …)."""

    workspace: Any
    get_object: Any  # the viewset's (scoped: another workspace's workflow is a 404)

    def _draft_body(self, workflow: Workflow, draft: WorkflowVersion | None = None) -> Response:
        draft = draft or selectors.workflow_draft(workflow=workflow)
        graph = (
            draft.graph
            if draft
            else (workflow.current_version.graph if workflow.current_version else EMPTY_GRAPH)
        )
        revision = services.revision_of(services.latest_version(workflow))
        body = {
            "draft": VersionSerializer(draft).data if draft else None,
            "graph": graph,
            "revision": revision,
            "validation": graph_report(workspace=self.workspace, data=graph).as_dict(),
        }
        return Response(body, headers={"ETag": f'"{revision}"'})

    @extend_schema(
        methods=["GET"], responses=OpenApiTypes.OBJECT, summary="The draft and its revision"
    )
    @extend_schema(
        methods=["PUT"],
        request=DraftSaveSerializer,
        responses=OpenApiTypes.OBJECT,
        summary="Autosave the draft (409 draft_conflict when someone else saved meanwhile)",
    )
    @action(detail=True, methods=["get", "put"])
    def draft(self, request: Request, pk: str | None = None) -> Response:
        workflow = self.get_object()
        if request.method == "GET":
            return self._draft_body(workflow)
        serializer = DraftSaveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        draft = services.draft_save(
            workspace=self.workspace,
            workflow=workflow,
            graph=data["graph"],
            user=_user(request),
            revision=_if_match(request, data),
            complete=False,
        )
        return self._draft_body(workflow, draft)

    @extend_schema(request=ValidateSerializer, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["post"])
    def validate(self, request: Request, pk: str | None = None) -> Response:
        workflow = self.get_object()
        serializer = ValidateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        graph = serializer.validated_data.get("graph")
        if graph is None:
            version = selectors.workflow_draft(workflow=workflow) or workflow.current_version
            graph = version.graph if version else EMPTY_GRAPH
        return Response(graph_report(workspace=self.workspace, data=graph).as_dict())

    @extend_schema(request=PreviewSerializer, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["post"])
    def preview(self, request: Request, pk: str | None = None) -> Response:
        """Replay the last N days of this workspace's events through the draft (read-only)."""
        workflow = self.get_object()
        serializer = PreviewSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        graph = data.get("graph")
        if graph is None:
            version = selectors.workflow_draft(workflow=workflow) or workflow.current_version
            graph = version.graph if version else EMPTY_GRAPH
        return Response(
            preview_on_history(
                workspace=self.workspace,
                workflow=workflow,
                graph_data=graph,
                days=data["days"],
                sample=data["sample"],
            )
        )

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"], url_path="publish-summary")
    def publish_summary(self, request: Request, pk: str | None = None) -> Response:
        workflow = self.get_object()
        version = selectors.workflow_draft(workflow=workflow) or workflow.current_version
        return Response(
            publish_summary(workspace=self.workspace, workflow=workflow, version=version)
        )

    def _version(self, workflow: Workflow, version_id: str) -> WorkflowVersion:
        version = (
            WorkflowVersion.objects.for_workspace(self.workspace)
            .filter(workflow=workflow, pk=int(version_id))
            .first()
        )
        if version is None:
            raise NotFound("No such version of this workflow.")
        return version

    @extend_schema(responses=OpenApiTypes.OBJECT, operation_id="api_v1_workflows_version_detail")
    @action(detail=True, methods=["get"], url_path=r"versions/(?P<version_id>\d+)")
    def version_detail(
        self, request: Request, pk: str | None = None, version_id: str = ""
    ) -> Response:
        workflow = self.get_object()
        version = self._version(workflow, version_id)
        graph = graph_report(workspace=self.workspace, data=version.graph).graph
        return Response(
            {
                **VersionSerializer(version).data,
                "is_current": workflow.current_version_id == version.pk,
                "summaries": graph_summaries(self.workspace, graph),
            }
        )

    @extend_schema(request=RestoreSerializer, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["post"], url_path=r"versions/(?P<version_id>\d+)/restore")
    def restore(self, request: Request, pk: str | None = None, version_id: str = "") -> Response:
        workflow = self.get_object()
        version = self._version(workflow, version_id)
        serializer = RestoreSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        draft = services.draft_save(
            workspace=self.workspace,
            workflow=workflow,
            graph=version.graph,
            user=_user(request),
            revision=_if_match(request, dict(serializer.validated_data)),
            complete=False,
        )
        return self._draft_body(workflow, draft)

    @extend_schema(parameters=RANGE_PARAMS, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def overlay(self, request: Request, pk: str | None = None) -> Response:
        return node_numbers(request, self.get_object(), lambda item, overlay: overlay)

    @extend_schema(parameters=RANGE_PARAMS, responses=OpenApiTypes.OBJECT)
    @action(
        detail=True,
        methods=["get"],
        url_path=r"nodes/(?P<node_id>[A-Za-z0-9_.:-]{1,64})/decision",
    )
    def split_decision(
        self, request: Request, pk: str | None = None, node_id: str = ""
    ) -> Response:
        """An A/B split's results per variant (entered, successes on the node's metric, chance
        to be best, expected loss, p-value vs A) and the call, or what it still needs."""
        workflow = self.get_object()
        window = date_range(request, workflow)
        decision = selectors.split_node_decision(
            workflow=workflow, node_id=node_id, since=window["since"], until=window["until"]
        )
        if decision is None:
            raise NotFound("This workflow has no A/B split with that id.")
        return Response(decision.as_dict())

    @extend_schema(request=SplitWinnerSerializer, responses=OpenApiTypes.OBJECT)
    @action(
        detail=True,
        methods=["post"],
        url_path=r"nodes/(?P<node_id>[A-Za-z0-9_.:-]{1,64})/winner",
    )
    def split_winner(self, request: Request, pk: str | None = None, node_id: str = "") -> Response:
        """Send all future traffic of an A/B split to one variant (the marketer's call), or
        resume the split with null."""
        workflow = self.get_object()
        if selectors.split_node_find(workflow=workflow, node_id=node_id) is None:
            raise NotFound("This workflow has no A/B split with that id.")
        serializer = SplitWinnerSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        workflow = services.split_winner_set(
            workspace=self.workspace,
            workflow=workflow,
            node_id=node_id,
            variant=serializer.validated_data["variant"],
        )
        decision = selectors.split_node_decision(workflow=workflow, node_id=node_id)
        return Response(decision.as_dict() if decision else {})

    @extend_schema(parameters=[STATE_PARAM, *RANGE_PARAMS], responses=OpenApiTypes.OBJECT)
    @action(
        detail=True,
        methods=["get"],
        url_path=r"nodes/(?P<node_id>[A-Za-z0-9_.:-]{1,64})/contacts",
    )
    def node_contacts(self, request: Request, pk: str | None = None, node_id: str = "") -> Response:
        workflow = self.get_object()
        state = request.query_params.get("state") or "at"
        if state not in selectors.NODE_CONTACT_STATES:
            raise ValidationFailed(
                f"state: one of {', '.join(selectors.NODE_CONTACT_STATES)}.",
                fields={"state": ["unknown state"]},
            )
        window = date_range(request, workflow)
        runs = selectors.node_contacts(
            workflow=workflow,
            node_id=node_id,
            state=state,
            since=window["since"],
            until=window["until"],
        )
        page = self.paginate_queryset(runs)  # type: ignore[attr-defined]
        response = self.get_paginated_response([_run_row(run) for run in page])  # type: ignore[attr-defined]
        response.data["count"] = runs.count()
        return response

    @extend_schema(parameters=[PREFIX_PARAM, LIMIT_PARAM], responses=OpenApiTypes.OBJECT)
    @action(detail=False, methods=["get"], url_path="autocomplete/events")
    def autocomplete_events(self, request: Request) -> Response:
        """Event names this workspace has received, most frequent (last 30 days) first."""
        prefix = (request.query_params.get("q") or "").strip()[:200]
        limit = _limit(request)
        rows = integrations.event_definitions(workspace=self.workspace, prefix=prefix)
        counts = integrations.event_counts(
            workspace=self.workspace,
            names=[name for name, _, _ in rows],
            since=timezone.now() - timedelta(days=30),
        )
        ranked = sorted(rows, key=lambda row: (-counts.get(row[0], 0), row[0].lower()))
        results = [
            {
                "name": name,
                "count": counts.get(name, 0),
                "last_seen_at": seen.isoformat() if seen else None,
            }
            for name, _, seen in ranked[:limit]
        ]
        return Response({"results": results, "counted_days": 30})

    @extend_schema(
        parameters=[
            OpenApiParameter("event", str, required=True, description="The event's name."),
            PREFIX_PARAM,
        ],
        responses=OpenApiTypes.OBJECT,
    )
    @action(detail=False, methods=["get"], url_path="autocomplete/properties")
    def autocomplete_properties(self, request: Request) -> Response:
        """Property names seen on an event (the catalogue kept on ingestion)."""
        name = (request.query_params.get("event") or "").strip()
        if not name:
            raise ValidationFailed("event: give the event's name.", fields={"event": ["required"]})
        prefix = (request.query_params.get("q") or "").strip().lower()
        rows = integrations.event_definitions(workspace=self.workspace, names=[name], limit=1)
        keys = sorted(rows[0][1] or []) if rows else []
        return Response({"results": [{"name": k} for k in keys if k.lower().startswith(prefix)]})

    @extend_schema(parameters=[PREFIX_PARAM], responses=OpenApiTypes.OBJECT)
    @action(detail=False, methods=["get"], url_path="autocomplete/fields")
    def autocomplete_fields(self, request: Request) -> Response:
        """Contact fields and custom attributes (name, label, type), as segment filters use them."""
        prefix = (request.query_params.get("q") or "").strip().lower()
        fields = integrations.field_catalog(workspace=self.workspace)
        return Response(
            {
                "results": [
                    f
                    for f in fields
                    if f["name"].lower().startswith(prefix) or f["label"].lower().startswith(prefix)
                ]
            }
        )


def _user(request: Request) -> User | None:
    """The person saving (session auth); an API key saves as nobody."""
    user = getattr(request, "user", None)
    return user if isinstance(user, User) else None


def _run_row(run: WorkflowRun) -> dict[str, Any]:
    contact = run.contact
    return {
        "run": run.pk,
        "status": run.status,
        "current_node": run.current_node,
        "at": run.updated_at.isoformat(),
        "entered_at": run.created_at.isoformat(),
        "contact": {
            "id": contact.pk,
            "email": contact.email,
            "name": contact.display_name,
            "url": reverse("contacts:detail", args=[contact.pk]),
        },
    }


__all__ = ["BuilderActions", "date_range", "status"]
