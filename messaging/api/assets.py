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
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from workspaces.api.base import WorkspaceAPIView
from workspaces.api.serializers import StrictFieldsMixin
from workspaces.errors import NotFound, ValidationFailed
from workspaces.models import User
from workspaces.roles import Capability

from .. import starters
from ..models import EmailTemplate, Layout, MediaAsset, SavedBlock
from ..services.brand import Brand, brand_fonts, brand_get, brand_update
from ..services.checklist import email_check
from ..services.media import media_list, media_upload, public_url
from ..services.saved_blocks import saved_block_create, saved_block_delete, saved_block_list
from ..services.templates import email_template_duplicate
from .serializers import EmailTemplateSerializer

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


# --- Templates: duplicate ---------------------------------------------------------------------


class EmailTemplateDuplicateView(WorkspaceAPIView):
    write_capability = EDIT

    @extend_schema(request=None, responses=EmailTemplateSerializer)
    def post(self, request: Request, pk: int) -> Response:
        template = EmailTemplate.objects.filter(workspace=self.workspace, pk=pk).first()
        if template is None:
            raise NotFound("No such template.")
        copy = email_template_duplicate(
            workspace=self.workspace, template=template, user=_user(request)
        )
        return Response(EmailTemplateSerializer(copy).data, status=status.HTTP_201_CREATED)


def _user(request: Request) -> User | None:
    user = getattr(request, "user", None)
    return user if isinstance(user, User) else None


# --- Media ------------------------------------------------------------------------------------


class MediaAssetSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = MediaAsset
        fields = [
            "id",
            "url",
            "width",
            "height",
            "alt",
            "size",
            "content_type",
            "original_name",
            "created_at",
        ]

    def get_url(self, asset: MediaAsset) -> str:
        return public_url(asset)


class MediaUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    alt = serializers.CharField()


class MediaView(WorkspaceAPIView):
    """Email images: GET the latest 200; POST multipart {file, alt} uploads one."""

    write_capability = EDIT
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(responses=MediaAssetSerializer(many=True))
    def get(self, request: Request) -> Response:
        assets = media_list(workspace=self.workspace)
        return Response({"results": MediaAssetSerializer(assets, many=True).data})

    @extend_schema(
        request={"multipart/form-data": MediaUploadSerializer}, responses=MediaAssetSerializer
    )
    def post(self, request: Request) -> Response:
        unknown = sorted(set(request.data) - {"file", "alt"})
        if unknown:
            raise ValidationFailed(
                f"{unknown[0]}: unknown field", fields={unknown[0]: "unknown field"}
            )
        asset = media_upload(
            workspace=self.workspace,
            upload=request.data.get("file"),
            alt=str(request.data.get("alt") or ""),
            user=_user(request),
        )
        return Response(MediaAssetSerializer(asset).data, status=status.HTTP_201_CREATED)


# --- Brand ------------------------------------------------------------------------------------


class BrandSerializer(StrictFieldsMixin, serializers.Serializer):
    logo_id = serializers.IntegerField(required=False, allow_null=True)
    primary_color = serializers.CharField(required=False, max_length=7)
    text_color = serializers.CharField(required=False, max_length=7)
    background_color = serializers.CharField(required=False, max_length=7)
    content_color = serializers.CharField(required=False, max_length=7)
    font = serializers.CharField(required=False, max_length=40)


def _brand_data(brand: Brand) -> dict[str, Any]:
    logo = brand.logo
    return {
        "logo_id": logo.pk if logo else None,
        "logo_url": public_url(logo) if logo else None,
        "logo": MediaAssetSerializer(logo).data if logo else None,
        "primary_color": brand.primary_color,
        "text_color": brand.text_color,
        "background_color": brand.background_color,
        "content_color": brand.content_color,
        "font": brand.font,
        "fonts": list(brand_fonts()),
    }


class BrandView(WorkspaceAPIView):
    """The workspace's brand: logo, colours ("#rrggbb") and font key."""

    write_capability = EDIT

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        return Response(_brand_data(brand_get(workspace=self.workspace)))

    @extend_schema(request=BrandSerializer, responses=OpenApiTypes.OBJECT)
    def patch(self, request: Request) -> Response:
        values = _valid(BrandSerializer, request.data)
        if "logo_id" in values:
            logo_id = values.pop("logo_id")
            logo = None
            if logo_id is not None:
                logo = MediaAsset.objects.filter(workspace=self.workspace, pk=logo_id).first()
                if logo is None:
                    raise ValidationFailed(
                        "logo_id: no such image in this workspace",
                        fields={"logo_id": "no such image in this workspace"},
                    )
            values["logo"] = logo
        return Response(_brand_data(brand_update(workspace=self.workspace, **values)))


# --- Saved blocks -----------------------------------------------------------------------------


class SavedBlockSerializer(serializers.ModelSerializer):
    class Meta:
        model = SavedBlock
        fields = ["id", "name", "block", "created_at", "updated_at"]


class SavedBlockWriteSerializer(StrictFieldsMixin, serializers.Serializer):
    name = serializers.CharField(max_length=120)
    block = serializers.JSONField()


class SavedBlockIdSerializer(StrictFieldsMixin, serializers.Serializer):
    id = serializers.IntegerField()


class SavedBlocksView(WorkspaceAPIView):
    """GET the saved blocks; POST {name, block} saves one; DELETE {id} removes one (also
    DELETE saved-blocks/{id}/)."""

    write_capability = EDIT

    @extend_schema(responses=SavedBlockSerializer(many=True))
    def get(self, request: Request) -> Response:
        found = saved_block_list(workspace=self.workspace)
        return Response({"results": SavedBlockSerializer(found, many=True).data})

    @extend_schema(request=SavedBlockWriteSerializer, responses=SavedBlockSerializer)
    def post(self, request: Request) -> Response:
        data = _valid(SavedBlockWriteSerializer, request.data)
        saved = saved_block_create(
            workspace=self.workspace, name=data["name"], block=data["block"], user=_user(request)
        )
        return Response(SavedBlockSerializer(saved).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=SavedBlockIdSerializer, responses={204: None})
    def delete(self, request: Request) -> Response:
        data = _valid(SavedBlockIdSerializer, request.data)
        saved_block_delete(workspace=self.workspace, pk=data["id"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class SavedBlockDetailView(WorkspaceAPIView):
    write_capability = EDIT

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        saved_block_delete(workspace=self.workspace, pk=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Starter templates ------------------------------------------------------------------------


class StarterTemplatesView(WorkspaceAPIView):
    """The starter block documents (welcome, newsletter, abandoned cart, receipt,
    re-engagement), each passing every pre-send check."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        return Response({"results": [starter.as_dict() for starter in starters.all_starters()]})
