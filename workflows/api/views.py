"""Management API of workflows.

/api/v1/workflows/                     list, create (optionally with a first draft graph)
/api/v1/workflows/{id}/                retrieve, update settings (PATCH), delete (no runs)
/api/v1/workflows/{id}/versions/       list versions; POST {graph}: save the draft
/api/v1/workflows/{id}/publish/        POST {version?}: validate and make current
/api/v1/workflows/{id}/pause|resume|archive/
/api/v1/workflows/{id}/enroll/         POST {contact_id | email, properties?, key?}
/api/v1/workflows/{id}/runs/           ?status=
/api/v1/workflows/{id}/stats/          per-node numbers
/api/v1/workflows/{id}/test/           test mode (simulated time, nothing sent)
/api/v1/workflows/{id}/export/         the workflow as an importable document
/api/v1/workflows/node-types/          the node registry: schemas and ports
/api/v1/workflows/library/             ready-made workflows
/api/v1/workflows/import/              POST {document | library, name?}
/api/v1/workflow-runs/                 ?contact=&workflow=&status= ; /{id}/ with its steps
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import MethodNotAllowed
from rest_framework.request import Request
from rest_framework.response import Response

from contacts.models import Contact
from workspaces.api.base import WorkspaceModelViewSet, WorkspaceReadOnlyViewSet
from workspaces.api.params import query_id
from workspaces.errors import NotFound, ValidationFailed
from workspaces.roles import Capability

from .. import library, selectors, services
from ..models import RunStatus, Workflow, WorkflowRun, WorkflowVersion
from ..nodes import forms, registry
from ..preview.simulation import simulate
from ..runs.enrolment import enrol_contact
from .builder import RANGE_PARAMS, BuilderActions, node_numbers
from .serializers import (
    EnrollSerializer,
    GraphSerializer,
    ImportSerializer,
    PublishSerializer,
    RunDetailSerializer,
    RunSerializer,
    TestRunSerializer,
    VersionSerializer,
    WorkflowDetailSerializer,
    WorkflowSerializer,
    WorkflowWriteSerializer,
)

STATUS_PARAM = OpenApiParameter(
    "status", str, description="Filter runs by status.", enum=RunStatus.values
)


def _valid(serializer_class: type, data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _status_filter(request: Request) -> str | None:
    value = request.query_params.get("status") or None
    if value is not None and value not in RunStatus.values:
        raise ValidationFailed(
            f"status: must be one of {', '.join(RunStatus.values)}.",
            fields={"status": ["unknown status"]},
        )
    return value


class WorkflowViewSet(BuilderActions, WorkspaceModelViewSet):
    queryset = Workflow.objects.all()
    serializer_class = WorkflowSerializer
    write_capability = Capability.EDIT_MARKETING
    # PUT only for the draft (builder.BuilderActions.draft): a workflow itself is PATCHed.
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if not kwargs.get("partial"):
            raise MethodNotAllowed("PUT")
        return super().update(request, *args, **kwargs)

    def safely_get_queryset(self, queryset: QuerySet[Workflow]) -> QuerySet[Workflow]:
        if self.action == "list":
            return selectors.workflow_list(
                workspace=self.workspace, status=self.request.query_params.get("status") or None
            )
        return queryset.select_related("current_version", "workspace")

    def get_serializer_class(self) -> type:
        return WorkflowSerializer if self.action == "list" else WorkflowDetailSerializer

    def _detail(self, workflow: Workflow, code: int = status.HTTP_200_OK) -> Response:
        workflow.refresh_from_db()
        return Response(WorkflowDetailSerializer(workflow).data, status=code)

    @extend_schema(request=WorkflowWriteSerializer, responses=WorkflowDetailSerializer)
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = _valid(WorkflowWriteSerializer, request.data)
        graph = data.pop("graph", None)
        workflow = services.workflow_create(workspace=self.workspace, data=data, graph=graph)
        return self._detail(workflow, status.HTTP_201_CREATED)

    @extend_schema(request=WorkflowWriteSerializer, responses=WorkflowDetailSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        workflow = self.get_object()
        data = _valid(WorkflowWriteSerializer, request.data)
        graph = data.pop("graph", None)
        services.workflow_update(workspace=self.workspace, workflow=workflow, data=data)
        if graph is not None:
            services.draft_save(workspace=self.workspace, workflow=workflow, graph=graph)
        return self._detail(workflow)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.workflow_delete(workspace=self.workspace, workflow=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=GraphSerializer, responses=VersionSerializer)
    @action(detail=True, methods=["get", "post"])
    def versions(self, request: Request, pk: str | None = None) -> Response:
        workflow = self.get_object()
        if request.method == "GET":
            versions = selectors.workflow_versions(workflow=workflow)
            return Response({"results": VersionSerializer(versions, many=True).data})
        graph = _valid(GraphSerializer, request.data)["graph"]
        draft = services.draft_save(workspace=self.workspace, workflow=workflow, graph=graph)
        return Response(VersionSerializer(draft).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=PublishSerializer, responses=WorkflowDetailSerializer)
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, pk: str | None = None) -> Response:
        workflow = self.get_object()
        data = _valid(PublishSerializer, request.data)
        version_id = data.get("version")
        version = None
        if version_id is not None:
            version = (
                WorkflowVersion.objects.for_workspace(self.workspace)
                .filter(pk=version_id, workflow=workflow)
                .first()
            )
            if version is None:
                raise NotFound("No such version of this workflow.")
        services.workflow_publish(
            workspace=self.workspace,
            workflow=workflow,
            version=version,
            confirm_warnings=data["confirm_warnings"],
            move=data.get("move"),
        )
        return self._detail(workflow)

    @extend_schema(request=None, responses=WorkflowDetailSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str | None = None) -> Response:
        return self._detail(
            services.workflow_pause(workspace=self.workspace, workflow=self.get_object())
        )

    @extend_schema(request=None, responses=WorkflowDetailSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        return self._detail(
            services.workflow_resume(workspace=self.workspace, workflow=self.get_object())
        )

    @extend_schema(request=None, responses=WorkflowDetailSerializer)
    @action(detail=True, methods=["post"])
    def archive(self, request: Request, pk: str | None = None) -> Response:
        return self._detail(
            services.workflow_archive(workspace=self.workspace, workflow=self.get_object())
        )

    @extend_schema(request=EnrollSerializer, responses=RunSerializer)
    @action(detail=True, methods=["post"])
    def enroll(self, request: Request, pk: str | None = None) -> Response:
        workflow = self.get_object()
        data = _valid(EnrollSerializer, request.data)
        contacts = Contact.objects.for_workspace(self.workspace)
        if data.get("contact_id"):
            contact = contacts.filter(pk=data["contact_id"]).first()
        else:
            contact = contacts.filter(email=data["email"].strip().lower()).first()
        if contact is None:
            raise NotFound(
                "No such contact in this workspace.", fields={"contact_id": ["unknown contact"]}
            )
        # The body's `key` enrols once for good; else the request's Idempotency-Key (read
        # and validated once by the API base, which also replays a repeated request).
        key = f"api:{data.get('key') or request.idempotency_key or ''}"
        run = enrol_contact(
            workspace=self.workspace,
            workflow_id=workflow.pk,
            contact=contact,
            key=key if key != "api:" else "",
            context={"properties": data.get("properties") or {}},
            require_api_trigger=True,
        )
        assert run is not None  # strict: refusals raise Conflict
        run = WorkflowRun.objects.select_related("contact", "version").get(pk=run.pk)
        return Response(RunSerializer(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(parameters=[STATUS_PARAM], responses=RunSerializer(many=True))
    @action(detail=True, methods=["get"])
    def runs(self, request: Request, pk: str | None = None) -> Response:
        workflow = self.get_object()
        runs = selectors.runs_for_workflow(workflow=workflow, status=_status_filter(request))
        page = self.paginate_queryset(runs)
        return self.get_paginated_response(RunSerializer(page, many=True).data)

    @extend_schema(parameters=RANGE_PARAMS, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def stats(self, request: Request, pk: str | None = None) -> Response:
        """Per-node numbers (all time, or ?from=&to= days); the builder's overlay/ says the
        same per node in the canvas's terms."""
        return node_numbers(
            request,
            self.get_object(),
            lambda item, overlay: {**item.as_dict(), "label": item.label, "arms": overlay["arms"]},
        )

    @extend_schema(request=TestRunSerializer, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["post"], url_path="test")
    def test_run(self, request: Request, pk: str | None = None) -> Response:
        workflow = self.get_object()
        data = _valid(TestRunSerializer, request.data)
        return Response(simulate(workspace=self.workspace, workflow=workflow, **data))

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def export(self, request: Request, pk: str | None = None) -> Response:
        return Response(services.workflow_export(workflow=self.get_object()))

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=False, methods=["get"], url_path="node-types")
    def node_types(self, request: Request) -> Response:
        return Response(
            {
                "groups": forms.GROUPS,
                "settings_schema": forms.settings_schema(),
                "results": [forms.describe(spec) for spec in registry().values()],
            }
        )

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=False, methods=["get"], url_path="library")
    def library_list(self, request: Request) -> Response:
        return Response({"results": library.catalogue()})

    @extend_schema(request=ImportSerializer, responses=WorkflowDetailSerializer)
    @action(detail=False, methods=["post"], url_path="import")
    def import_document(self, request: Request) -> Response:
        data = _valid(ImportSerializer, request.data)
        if data.get("library"):
            workflow = library.library_import(
                workspace=self.workspace, slug=data["library"], name=data.get("name")
            )
        else:
            workflow = services.workflow_import(
                workspace=self.workspace, document=data["document"], name=data.get("name")
            )
        return self._detail(workflow, status.HTTP_201_CREATED)


RUN_PARAMS = [
    OpenApiParameter("contact", int, description="Runs of this contact."),
    OpenApiParameter("workflow", int, description="Runs of this workflow."),
    STATUS_PARAM,
]


@extend_schema(parameters=RUN_PARAMS)
class WorkflowRunViewSet(WorkspaceReadOnlyViewSet):
    """Runs across workflows: e.g. every workflow a contact is or was in."""

    queryset = WorkflowRun.objects.all()
    serializer_class = RunSerializer

    def safely_get_queryset(self, queryset: QuerySet[WorkflowRun]) -> QuerySet[WorkflowRun]:
        params = self.request.query_params
        queryset = queryset.select_related("contact", "version", "workflow")
        for param in ("contact", "workflow"):
            value = query_id(params, param)
            if value is not None:
                queryset = queryset.filter(**{f"{param}_id": value})
        status_value = _status_filter(self.request)
        return queryset.filter(status=status_value) if status_value else queryset

    def get_serializer_class(self) -> type:
        return RunDetailSerializer if self.action == "retrieve" else RunSerializer
