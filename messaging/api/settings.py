"""`GET/PATCH /api/v1/messaging/settings/`: the workspace's sending settings (sender, postal
address, consent mode, quiet hours, frequency cap, link tagging, SMS/WhatsApp senders) —
what Messages → Settings sets, through the same service (messaging_settings_update)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from workspaces.api.base import WorkspaceAPIView
from workspaces.api.serializers import StrictFieldsMixin
from workspaces.roles import Capability

from ..models import MessagingSettings
from ..services import messaging_settings, messaging_settings_update
from ..services.config import SETTINGS_FIELDS


class MessagingSettingsSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    class Meta:
        model = MessagingSettings
        fields = [*SETTINGS_FIELDS, "sending_paused", "paused_reason", "updated_at"]
        read_only_fields = ["sending_paused", "paused_reason", "updated_at"]
        extra_kwargs = {"physical_address": {"max_length": 1000}}


class MessagingSettingsView(WorkspaceAPIView):
    """Sending settings. PATCH changes the fields it names (EDIT_MARKETING, as in the UI)."""

    write_capability = Capability.EDIT_MARKETING

    @extend_schema(responses=MessagingSettingsSerializer)
    def get(self, request: Request) -> Response:
        current = messaging_settings(workspace=self.workspace)
        return Response(MessagingSettingsSerializer(current).data)

    @extend_schema(request=MessagingSettingsSerializer, responses=MessagingSettingsSerializer)
    def patch(self, request: Request) -> Response:
        current = messaging_settings(workspace=self.workspace)
        serializer = MessagingSettingsSerializer(current, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        updated = messaging_settings_update(
            workspace=self.workspace, **dict(serializer.validated_data)
        )
        return Response(MessagingSettingsSerializer(updated).data)
