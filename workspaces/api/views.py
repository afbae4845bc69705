from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from workspaces.api.base import WorkspaceAPIView, WorkspaceReadOnlyViewSet
from workspaces.api.serializers import MembershipSerializer, WorkspaceSerializer
from workspaces.models import Membership


class CurrentWorkspaceView(WorkspaceAPIView):
    """The workspace the key belongs to."""

    @extend_schema(responses=WorkspaceSerializer)
    def get(self, request: Request) -> Response:
        return Response(WorkspaceSerializer(self.workspace).data)


class MembershipViewSet(WorkspaceReadOnlyViewSet):
    """The people in the workspace (read-only through the API; manage them in the UI)."""

    queryset = Membership.objects.select_related("user")
    serializer_class = MembershipSerializer
