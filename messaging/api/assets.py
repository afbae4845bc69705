"""Assets and checks of the block email editor (/api/v1/messaging/…, docs/messaging.md).

email-templates/check/            POST {document | html, subject, preheader, layout?}: the
                                  pre-send checklist with the SpamAssassin score and rules
email-templates/{id}/duplicate/   POST: a copy named "<name> (copy)" (code or block template)
media/                            GET images; POST multipart {file, alt}: upload an image
brand/                            GET, PATCH the workspace's brand (logo, colours, font)
saved-blocks/                     GET, POST {name, block}; saved-blocks/{id}/ DELETE
starter-templates/                GET the starter block documents
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from workspaces.api.base import WorkspaceAPIView
from workspaces.api.serializers import StrictFieldsMixin
from workspaces.errors import ValidationFailed
from workspaces.roles import Capability

from ..models import Layout
from ..services.checklist import email_check

EDIT = Capability.EDIT_MARKETING


def _valid(serializer_class: Any, data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class CheckRequestSerializer(StrictFieldsMixin, serializers.Serializer):
    subject = serializers.CharField(max_length=300, allow_blank=True, trim_whitespace=False)
    preheader = serializers.CharField(
        max_length=300, required=False, allow_blank=True, default="", trim_whitespace=False
    )
    html = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    text = serializers.CharField(
        required=False, allow_blank=True, default="", trim_whitespace=False
    )
    document = serializers.JSONField(required=False)
    layout = serializers.IntegerField(required=False, allow_null=True, default=None)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        if attrs.get("document") is None and not (attrs.get("html") or "").strip():
            raise serializers.ValidationError({"html": ["Give a block document or the HTML."]})
        if len(attrs.get("html") or "") > 1_000_000:
            raise serializers.ValidationError({"html": ["The HTML is over 1,000,000 characters."]})
        return attrs


class EmailCheckView(WorkspaceAPIView):
    """The pre-send checklist of an email being written; stores nothing (a read)."""

    write_capability = Capability.VIEW

    @extend_schema(request=CheckRequestSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        data = _valid(CheckRequestSerializer, request.data)
        layout = None
        if data["layout"] is not None:
            layout = Layout.objects.filter(workspace=self.workspace, pk=data["layout"]).first()
            if layout is None:
                raise ValidationFailed(
                    "layout: no such layout in this workspace", fields={"layout": "unknown"}
                )
        report = email_check(
            workspace=self.workspace,
            subject=data["subject"],
            preheader=data["preheader"],
            html=data.get("html"),
            document=data.get("document"),
            layout=layout,
            text=data["text"],
        )
        return Response(report.as_dict(), status=status.HTTP_200_OK)
