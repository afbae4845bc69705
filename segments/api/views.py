"""Management API of segments: CRUD, members, history, static list edits, counts."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from segments import selectors, services
from segments.filters import filter_count_and_first
from segments.models import ChangeReason, Segment, SegmentMembership, SegmentMembershipChange
from workspaces.api.base import WorkspaceAPIView, WorkspaceModelViewSet
from workspaces.api.pagination import IdCursorPagination
from workspaces.roles import Capability

from .serializers import (
    ChangeSerializer,
    FilterCountSerializer,
    MembersChangeSerializer,
    MemberSerializer,
    SegmentSerializer,
    SegmentUpdateSerializer,
)

COUNT_RESPONSE = inline_serializer(
    "SegmentCount",
    {
        "count": serializers.IntegerField(),
        "contact_ids": serializers.ListField(),
        "contacts": serializers.ListField(help_text="The first matches: id, name and email."),
    },
)
CHANGE_RESPONSE = inline_serializer(
    "SegmentMembersChanged",
    {
        "added": serializers.IntegerField(required=False),
        "removed": serializers.IntegerField(required=False),
        "member_count": serializers.IntegerField(),
    },
)


class SegmentViewSet(WorkspaceModelViewSet):
    """Segments (dynamic, defined by `filter`) and static lists (`kind: static`).

    Saving a dynamic segment's filter starts a full recompute; watch `recompute_status`
    and `recompute_progress`."""

    queryset = Segment.objects.all()
    serializer_class = SegmentSerializer
    pagination_class = IdCursorPagination
    write_capability = Capability.EDIT_MARKETING

    def get_serializer_class(self) -> Any:
        if self.action in ("update", "partial_update"):
            return SegmentUpdateSerializer
        return super().get_serializer_class()

    def perform_create(self, serializer: Any) -> None:
        data = serializer.validated_data
        serializer.instance = services.segment_create(
            workspace=self.workspace,
            name=data.get("name", ""),
            kind=data.get("kind", Segment.Kind.DYNAMIC),
            filter=data.get("filter"),
            description=data.get("description", ""),
        )

    def perform_update(self, serializer: Any) -> None:
        data = serializer.validated_data
        serializer.instance = services.segment_update(
            segment=serializer.instance,
            name=data.get("name"),
            description=data.get("description"),
            filter=data.get("filter"),
        )

    def perform_destroy(self, instance: Segment) -> None:
        services.segment_delete(segment=instance)

    def _page(self, queryset: QuerySet[Any], serializer: Any) -> Response:
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(serializer(page, many=True).data)

    @extend_schema(responses=MemberSerializer(many=True))
    @action(detail=True, methods=["get"])
    def members(self, request: Request, pk: str | None = None) -> Response:
        segment = self.get_object()
        queryset = SegmentMembership.objects.filter(
            workspace_id=segment.workspace_id, segment=segment
        ).select_related("contact")
        return self._page(queryset, MemberSerializer)

    @extend_schema(responses=ChangeSerializer(many=True))
    @action(detail=True, methods=["get"])
    def history(self, request: Request, pk: str | None = None) -> Response:
        segment = self.get_object()
        queryset = SegmentMembershipChange.objects.filter(
            workspace_id=segment.workspace_id, segment=segment
        ).select_related("contact")
        return self._page(queryset, ChangeSerializer)

    def _change(self, request: Request, *, add: bool) -> Response:
        segment = self.get_object()
        body = MembersChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        ids = selectors.contact_ids_for(
            workspace=self.workspace,
            contact_ids=body.validated_data["contact_ids"],
            emails=body.validated_data["emails"],
        )
        change = services.static_list_add if add else services.static_list_remove
        applied = change(segment=segment, contact_ids=ids, source=ChangeReason.API)
        segment.refresh_from_db(fields=["member_count"])
        key, moved = ("added", applied.entered) if add else ("removed", applied.exited)
        return Response({key: len(moved), "member_count": segment.member_count})

    @extend_schema(request=MembersChangeSerializer, responses=CHANGE_RESPONSE)
    @action(detail=True, methods=["post"], url_path="members/add")
    def members_add(self, request: Request, pk: str | None = None) -> Response:
        """Add contacts (by id or email) to a static list. Unknown ones are ignored."""
        return self._change(request, add=True)

    @extend_schema(request=MembersChangeSerializer, responses=CHANGE_RESPONSE)
    @action(detail=True, methods=["post"], url_path="members/remove")
    def members_remove(self, request: Request, pk: str | None = None) -> Response:
        return self._change(request, add=False)

    @extend_schema(request=None, responses={202: SegmentSerializer})
    @action(detail=True, methods=["post"])
    def recompute(self, request: Request, pk: str | None = None) -> Response:
        segment = self.get_object()
        services.segment_recompute_request(segment=segment)
        return Response(SegmentSerializer(segment).data, status=status.HTTP_202_ACCEPTED)


class SegmentCountView(WorkspaceAPIView):
    """How many contacts an unsaved filter matches, and the first ids (newest first)."""

    write_capability = Capability.VIEW  # a POST only because the tree is a body; it reads

    @extend_schema(request=FilterCountSerializer, responses=COUNT_RESPONSE)
    def post(self, request: Request) -> Response:
        body = FilterCountSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        tree, limit = body.validated_data["filter"], body.validated_data["limit"]
        count, first_ids = filter_count_and_first(workspace=self.workspace, tree=tree, limit=limit)
        contacts = selectors.contacts_brief(workspace=self.workspace, contact_ids=first_ids)
        return Response({"count": count, "contact_ids": first_ids, "contacts": contacts})
