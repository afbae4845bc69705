"""Management API of the workspace itself: the workspace, its members and invitations.

Members and invitations need MANAGE_WORKSPACE: an owner's or admin's browser session, or an
admin key (ApiKey.can_manage_workspace; plain secret keys answer 403). They call the same
services as Settings → Members, so the same rules hold (the last owner stays, an existing
member is not invited again …) — and one more: ownership is not handed out or taken away
through the API. An owner is neither demoted nor removed here, and no one is made owner or
invited as owner; a person does that in the UI.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.request import Request
from rest_framework.response import Response

from workspaces import selectors, services
from workspaces.api.authentication import ApiClient, SessionMember
from workspaces.api.base import WorkspaceAPIView, WorkspaceReadOnlyViewSet
from workspaces.api.serializers import (
    InvitationCreateSerializer,
    InvitationSerializer,
    MembershipRoleSerializer,
    MembershipSerializer,
    WorkspaceSerializer,
    WorkspaceSettingsSerializer,
)
from workspaces.errors import ValidationFailed
from workspaces.forms import WorkspaceSettingsForm
from workspaces.models import Invitation, Membership, User
from workspaces.roles import Capability, Role


class CurrentWorkspaceView(WorkspaceAPIView):
    """The workspace the key belongs to. PATCH changes its name, time zone, API rate limit
    currency or global control group (an admin key, or an owner's or admin's session), as Settings → Workspace."""

    write_capability = Capability.MANAGE_WORKSPACE

    @extend_schema(responses=WorkspaceSerializer)
    def get(self, request: Request) -> Response:
        return Response(WorkspaceSerializer(self.workspace).data)

    @extend_schema(request=WorkspaceSettingsSerializer, responses=WorkspaceSerializer)
    def patch(self, request: Request) -> Response:
        data = request.data if isinstance(request.data, dict) else None
        if data is None:
            raise ValidationFailed(
                "body: must be a JSON object", fields={"body": ["must be an object"]}
            )
        unknown = sorted(set(data) - set(services.WORKSPACE_SETTINGS))
        if unknown:
            raise ValidationFailed(
                f"{unknown[0]}: not a workspace setting",
                fields={name: ["not a workspace setting"] for name in unknown},
            )
        workspace = self.workspace
        current = {field: getattr(workspace, field) for field in services.WORKSPACE_SETTINGS}
        form = WorkspaceSettingsForm(
            {**current, **{k: ("" if v is None else v) for k, v in data.items()}}
        )
        if not form.is_valid():
            field, errors = next(iter(form.errors.items()))
            raise ValidationFailed(
                f"{field}: {errors[0]}",
                fields={name: list(messages) for name, messages in form.errors.items()},
            )
        services.workspace_settings_update(
            workspace=workspace,
            actor=request_actor(request),
            **{field: form.cleaned_data[field] for field in data},
        )
        return Response(WorkspaceSerializer(workspace).data)


def request_actor(request: Request) -> User | None:
    """The person an API change is recorded for: the session's member, or whoever created
    the key (None if they are gone)."""
    principal = request.user
    if isinstance(principal, SessionMember):
        return principal.membership.user
    if isinstance(principal, ApiClient):
        return principal.api_key.created_by
    return None


def _no_ownership_change(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {message}", fields={field: [message]})


class MembershipViewSet(
    mixins.UpdateModelMixin, mixins.DestroyModelMixin, WorkspaceReadOnlyViewSet
):
    """The people in the workspace. PATCH `{"role": …}` changes a role, DELETE removes
    someone (owners and admins, or an admin key; never an owner through the API)."""

    queryset = Membership.objects.select_related("user")
    serializer_class = MembershipSerializer
    write_capability = Capability.MANAGE_WORKSPACE
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def safely_get_queryset(self, queryset: QuerySet[Membership]) -> QuerySet[Membership]:
        return queryset.order_by("created_at", "pk")

    @extend_schema(request=MembershipRoleSerializer, responses=MembershipSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        membership = self.get_object()
        serializer = MembershipRoleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        role = serializer.validated_data["role"]
        if membership.role == Role.OWNER and role != Role.OWNER:
            raise _no_ownership_change("role", "An owner's role is changed in the UI, by a person.")
        if role == Role.OWNER and membership.role != Role.OWNER:
            raise _no_ownership_change("role", "Ownership is given in the UI, by a person.")
        changed = services.membership_role_change(
            membership=membership, role=role, actor=request_actor(request)
        )
        return Response(MembershipSerializer(changed).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        membership = self.get_object()
        if membership.role == Role.OWNER:
            raise _no_ownership_change("member", "An owner cannot be removed through the API.")
        services.membership_remove(membership=membership, actor=request_actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationViewSet(
    mixins.CreateModelMixin, mixins.DestroyModelMixin, WorkspaceReadOnlyViewSet
):
    """Open invitations. POST `{"email", "role"}` invites (the invitee gets the email with
    the link, as from the UI); DELETE revokes."""

    queryset = Invitation.objects.select_related("invited_by")
    serializer_class = InvitationSerializer
    read_capability = Capability.MANAGE_WORKSPACE
    write_capability = Capability.MANAGE_WORKSPACE

    def safely_get_queryset(self, queryset: QuerySet[Invitation]) -> QuerySet[Invitation]:
        open_ones = selectors.invitation_list_open(workspace=self.workspace)
        return queryset.filter(pk__in=open_ones.values("pk")).order_by("-created_at", "-pk")

    @extend_schema(request=InvitationCreateSerializer, responses={201: InvitationSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = InvitationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if serializer.validated_data["role"] == Role.OWNER:
            raise _no_ownership_change("role", "Owners are invited in the UI, by a person.")
        invitation, _link = services.invitation_create(
            workspace=self.workspace,
            email=serializer.validated_data["email"],
            role=serializer.validated_data["role"],
            invited_by=request_actor(request),
        )
        return Response(InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.invitation_revoke(invitation=self.get_object(), actor=request_actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
