"""The DRF base classes every management-API view derives from.

`WorkspaceViewSet` owns `get_queryset`, `get_object` and the workspace on create, as
PostHog's routing mixin does: subclasses narrow the queryset in `safely_get_queryset`
and cannot override the scoping methods (a subclass that tries fails at import).
The rare view that must see across workspaces would have to be named `dangerously_…`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from rest_framework import mixins, viewsets
from rest_framework.views import APIView

from workspaces.api.authentication import SecretKeyAuthentication, SessionMemberAuthentication
from workspaces.api.permissions import HasWorkspace
from workspaces.models import Workspace
from workspaces.roles import Capability
from workspaces.scoping import SCOPE_ATTR

_SEALED = ("get_queryset", "get_object")


class _Sealed:
    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in _SEALED:
            if name in cls.__dict__ and not getattr(cls, "dangerously_owns_scoping", False):
                raise TypeError(
                    f"{cls.__name__} overrides {name}(); narrow the queryset in "
                    "safely_get_queryset() instead, so workspace scoping stays in one place."
                )


class WorkspaceAPIView(_Sealed, APIView):
    """An API endpoint that is not a model viewset (reports, counts, enrolment …)."""

    dangerously_owns_scoping = True
    authentication_classes = [SecretKeyAuthentication, SessionMemberAuthentication]
    permission_classes = [HasWorkspace]
    read_capability: ClassVar[Capability] = Capability.VIEW
    write_capability: ClassVar[Capability] = Capability.EDIT_CONTACTS

    @property
    def workspace(self) -> Workspace:
        return self.request.workspace  # type: ignore[attr-defined,no-any-return]


setattr(WorkspaceAPIView, SCOPE_ATTR, "workspace")
# Subclasses below are also owners of the sealed methods; user classes are not.
WorkspaceAPIView.dangerously_owns_scoping = False  # type: ignore[misc]


class WorkspaceViewSet(WorkspaceAPIView, viewsets.GenericViewSet):
    """Base of every model viewset: sees only the request's workspace."""

    dangerously_owns_scoping = True
    queryset: ClassVar[models.QuerySet[Any]]  # type: ignore[misc]

    def get_queryset(self) -> models.QuerySet[Any]:
        queryset = super().get_queryset().filter(workspace=self.workspace)
        return self.safely_get_queryset(queryset)

    def safely_get_queryset(self, queryset: models.QuerySet[Any]) -> models.QuerySet[Any]:
        return queryset

    def perform_create(self, serializer: Any) -> None:
        serializer.save(workspace=self.workspace)

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        context["workspace"] = getattr(self.request, "workspace", None)
        return context


WorkspaceViewSet.dangerously_owns_scoping = False  # type: ignore[misc]


class WorkspaceModelViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    mixins.ListModelMixin,
    WorkspaceViewSet,
):
    pass


class WorkspaceReadOnlyViewSet(mixins.RetrieveModelMixin, mixins.ListModelMixin, WorkspaceViewSet):
    pass
