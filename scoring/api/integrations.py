"""`GET/PATCH /api/v1/scoring/integrations/`: lead handoff — the Slack and CRM webhook URLs
(each URL must pass the outbound client's rules: http(s), not into the server's network),
email notifications and task due time — what Lead scoring → Integrations sets, through the
same service (config.settings_save). The answer includes each endpoint's Standard Webhooks
signing secret (made when its URL is first saved), as the page shows it."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from workspaces.api.base import WorkspaceAPIView
from workspaces.api.serializers import StrictFieldsMixin
from workspaces.models import Workspace
from workspaces.outbound.selectors import endpoint_get
from workspaces.roles import Capability

from ..services import config, scoring_settings


class IntegrationSettingsSerializer(StrictFieldsMixin, serializers.Serializer):
    slack_webhook_url = serializers.CharField(max_length=2000, allow_blank=True, required=False)
    crm_webhook_url = serializers.CharField(max_length=2000, allow_blank=True, required=False)
    email_notifications = serializers.BooleanField(required=False)
    task_due_hours = serializers.IntegerField(min_value=1, max_value=24 * 90, required=False)
    slack_signing_secret = serializers.CharField(read_only=True, allow_null=True)
    crm_signing_secret = serializers.CharField(read_only=True, allow_null=True)


def _current(workspace: Workspace) -> dict[str, Any]:
    current = scoring_settings(workspace=workspace)
    slack = endpoint_get(workspace=workspace, source="scoring.slack")
    crm = endpoint_get(workspace=workspace, source="scoring.crm")
    return {
        "slack_webhook_url": current.slack_webhook_url,
        "crm_webhook_url": current.crm_webhook_url,
        "email_notifications": current.email_notifications,
        "task_due_hours": current.task_due_hours,
        "slack_signing_secret": slack.secret if slack else None,
        "crm_signing_secret": crm.secret if crm else None,
    }


class IntegrationSettingsView(WorkspaceAPIView):
    """Lead handoff settings. PATCH needs MANAGE_WORKSPACE (an admin key, or an owner's or
    admin's session), as the page does; a URL the outbound client would refuse is a 400
    naming the field, and nothing is saved."""

    write_capability = Capability.MANAGE_WORKSPACE

    @extend_schema(responses=IntegrationSettingsSerializer)
    def get(self, request: Request) -> Response:
        return Response(IntegrationSettingsSerializer(_current(self.workspace)).data)

    @extend_schema(request=IntegrationSettingsSerializer, responses=IntegrationSettingsSerializer)
    def patch(self, request: Request) -> Response:
        serializer = IntegrationSettingsSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        config.settings_save(workspace=self.workspace, data=dict(serializer.validated_data))
        return Response(IntegrationSettingsSerializer(_current(self.workspace)).data)
