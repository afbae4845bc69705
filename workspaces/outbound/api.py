"""Management API of webhook endpoints and the delivery log:

- `GET /api/v1/webhook-endpoints/`, `GET …/{id}/`, `POST …/{id}/enable/`
- `GET /api/v1/webhook-deliveries/?endpoint=&status=`, `GET …/{id}/`,
  `POST …/{id}/replay/` (202, the queued replay)
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from workspaces.api.base import WorkspaceReadOnlyViewSet
from workspaces.roles import Capability

from . import services
from .models import WebhookDelivery, WebhookEndpoint


class WebhookEndpointSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "kind",
            "source",
            "name",
            "url",
            "secret",
            "is_enabled",
            "disabled_at",
            "disabled_reason",
            "consecutive_failures",
            "failing_since",
            "last_success_at",
            "created_at",
        ]


class WebhookDeliverySerializer(serializers.ModelSerializer):
    request_excerpt = serializers.CharField(read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "endpoint",
            "event_type",
            "message_id",
            "url",
            "request_excerpt",
            "attempt",
            "status",
            "response_status",
            "response_excerpt",
            "duration_ms",
            "error",
            "attempted_at",
            "next_attempt_at",
            "replay_of",
            "created_at",
        ]


class WebhookEndpointViewSet(WorkspaceReadOnlyViewSet):
    """Where the workspace's webhooks go, with their signing secrets and health."""

    queryset = WebhookEndpoint.objects.order_by("pk")
    serializer_class = WebhookEndpointSerializer
    # Secret keys (servers of the workspace) read the log and replay, as marketers' tools do.
    read_capability = Capability.VIEW
    write_capability = Capability.EDIT_MARKETING

    @extend_schema(request=None, responses=WebhookEndpointSerializer)
    @action(detail=True, methods=["post"])
    def enable(self, request: Request, pk: str | None = None) -> Response:
        endpoint = services.endpoint_enable(workspace=self.workspace, endpoint=self.get_object())
        return Response(WebhookEndpointSerializer(endpoint).data)


def _int(value: str | None, name: str) -> int | None:
    from workspaces.errors import ValidationFailed

    if value in (None, ""):
        return None
    if not str(value).isdigit() or len(str(value)) > 18:
        raise ValidationFailed(f"{name}: expected an id.", fields={name: "expected an id"})
    return int(str(value))


class WebhookDeliveryViewSet(WorkspaceReadOnlyViewSet):
    """The delivery log: one row per attempt, newest first; replay sends a message again."""

    queryset = WebhookDelivery.objects.order_by("-pk")
    serializer_class = WebhookDeliverySerializer
    # Secret keys (servers of the workspace) read the log and replay, as marketers' tools do.
    read_capability = Capability.VIEW
    write_capability = Capability.EDIT_MARKETING

    def safely_get_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.action != "list":
            return queryset
        endpoint = _int(self.request.query_params.get("endpoint"), "endpoint")
        if endpoint is not None:
            queryset = queryset.filter(endpoint_id=endpoint)
        wanted = self.request.query_params.get("status")
        if wanted:
            if wanted not in WebhookDelivery.Status.values:
                from workspaces.errors import ValidationFailed

                choices = ", ".join(WebhookDelivery.Status.values)
                raise ValidationFailed(
                    f"status: one of {choices}.", fields={"status": f"one of {choices}"}
                )
            queryset = queryset.filter(status=wanted)
        return queryset

    @extend_schema(
        parameters=[
            OpenApiParameter("endpoint", int, description="only this endpoint's deliveries"),
            OpenApiParameter("status", str, enum=WebhookDelivery.Status.values),
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer})
    @action(detail=True, methods=["post"])
    def replay(self, request: Request, pk: str | None = None) -> Response:
        replay = services.delivery_replay(workspace=self.workspace, delivery=self.get_object())
        return Response(WebhookDeliverySerializer(replay).data, status=status.HTTP_202_ACCEPTED)


router = SimpleRouter()
router.register("webhook-endpoints", WebhookEndpointViewSet, basename="webhook-endpoint")
router.register("webhook-deliveries", WebhookDeliveryViewSet, basename="webhook-delivery")

urlpatterns: list[Any] = [*router.urls]
