"""The messaging management API (/api/v1/messaging/…).

email-templates/            list, create; {id}/ get, patch (saves a new version)
email-templates/{id}/versions/               version history
email-templates/{id}/versions/{vid}/restore/ POST: make an old version current again
email-templates/{id}/preview/                POST {contact?, context?}: render, no send
email-templates/{id}/test/                   POST {to, contact?}: test send
sms-templates/ · layouts/ · topics/          list, create, patch
suppressions/                                list (?reason=&channel=&q=), create, delete
messages/                                    read-only (?contact=&status=&broadcast=&source_type=)
broadcasts/                                  list, create (draft), patch (draft);
                                             {id}/send/, {id}/cancel/, {id}/stats/
broadcasts/sto-report/                       STO vs fixed-time open rates
privacy/contacts/{id}/export/ · erase/       GET export JSON, POST erase
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from contacts.models import Contact
from workspaces.api.base import WorkspaceAPIView, WorkspaceReadOnlyViewSet, WorkspaceViewSet
from workspaces.api.params import query_id
from workspaces.errors import NotFound, ValidationFailed
from workspaces.roles import Capability

from .. import privacy, services
from ..models import (
    Broadcast,
    EmailTemplate,
    Layout,
    Message,
    SmsTemplate,
    Suppression,
    TemplateVersion,
    Topic,
)
from ..services import sto
from ..services.blocks import draft_render
from ..services.broadcasts import (
    BroadcastInput,
    VariantInput,
    broadcast_cancel,
    broadcast_save,
    broadcast_send,
    broadcast_status,
)
from . import serializers as s

EDIT = Capability.EDIT_MARKETING


def _valid(serializer_class: Any, data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _owned(model: Any, workspace: Any, pk: int | None, field: str) -> Any:
    """An id from a request body, resolved inside the workspace (else a 400 naming the field)."""
    if pk is None:
        return None
    found = model.objects.filter(workspace=workspace, pk=pk).first()
    if found is None:
        raise ValidationFailed(
            f"{field}: no such {field} in this workspace", fields={field: "unknown"}
        )
    return found


def _unarchived_in_lists(view: WorkspaceViewSet, queryset: QuerySet[Any]) -> QuerySet[Any]:
    """Archived templates are left out of lists; by id they are still there."""
    if view.action == "list":
        return queryset.filter(archived_at__isnull=True)
    return queryset


class EmailTemplateViewSet(mixins.RetrieveModelMixin, mixins.ListModelMixin, WorkspaceViewSet):
    queryset = EmailTemplate.objects.all()
    serializer_class = s.EmailTemplateSerializer
    write_capability = EDIT

    def safely_get_queryset(self, queryset: QuerySet[EmailTemplate]) -> QuerySet[EmailTemplate]:
        return _unarchived_in_lists(self, queryset.select_related("current_version"))

    def _content(self, data: dict[str, Any]) -> services.EmailContent:
        return services.EmailContent(
            name=data["name"],
            subject=data["subject"],
            html=data["html"],
            preheader=data["preheader"],
            text=data["text"],
            from_name=data["from_name"],
            from_email=data["from_email"],
            reply_to=data["reply_to"],
            layout=_owned(Layout, self.workspace, data["layout"], "layout"),
            topic=_owned(Topic, self.workspace, data["topic"], "topic"),
            document=data["document"],
        )

    @extend_schema(request=s.EmailTemplateWriteSerializer, responses=s.EmailTemplateSerializer)
    def create(self, request: Request) -> Response:
        content = self._content(_valid(s.EmailTemplateWriteSerializer, request.data))
        template = services.email_template_save(workspace=self.workspace, content=content)
        return Response(s.EmailTemplateSerializer(template).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.EmailTemplateWriteSerializer, responses=s.EmailTemplateSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        template = self.get_object()
        merged = {**s.EmailTemplateSerializer(template).data, **request.data}
        content = self._content(_valid(s.EmailTemplateWriteSerializer, merged))
        saved = services.email_template_save(
            workspace=self.workspace, template=template, content=content
        )
        return Response(s.EmailTemplateSerializer(saved).data)

    @extend_schema(request=s.RenderRequestSerializer, responses=s.RenderResponseSerializer)
    @action(detail=False, methods=["post"])
    def render(self, request: Request) -> Response:
        """Unsaved work (a block document or code-template HTML) rendered as a contact, or as
        the sample recipient: {subject, html, text, errors: {path: message}}. Writes nothing."""
        data = _valid(s.RenderRequestSerializer, request.data)
        contact = None
        if data["contact_id"] is not None:
            contact = Contact.objects.filter(
                workspace=self.workspace, pk=data["contact_id"]
            ).first()
            if contact is None:
                raise NotFound("No such contact.")
        rendered = draft_render(
            workspace=self.workspace,
            subject=data["subject"],
            preheader=data["preheader"],
            document=data["document"],
            html=data["html"],
            contact=contact,
        )
        return Response(
            {
                "subject": rendered.subject,
                "html": rendered.html,
                "text": rendered.text,
                "errors": rendered.errors,
            }
        )

    @extend_schema(responses=s.TemplateVersionSerializer(many=True))
    @action(detail=True, methods=["get"])
    def versions(self, request: Request, pk: str) -> Response:
        template = self.get_object()
        versions = TemplateVersion.objects.filter(workspace=self.workspace, template=template)
        return Response(
            s.TemplateVersionSerializer(versions.order_by("-number")[:100], many=True).data
        )

    @extend_schema(request=None, responses=s.EmailTemplateSerializer)
    @action(detail=True, methods=["post"], url_path=r"versions/(?P<version_id>\d+)/restore")
    def restore(self, request: Request, pk: str, version_id: str) -> Response:
        template = self.get_object()
        version = TemplateVersion.objects.filter(
            workspace=self.workspace, template=template, pk=int(version_id)
        ).first()
        if version is None:
            raise NotFound("No such version.")
        restored = services.email_template_restore(workspace=self.workspace, version=version)
        return Response(s.EmailTemplateSerializer(restored).data)

    @extend_schema(request=s.PreviewRequestSerializer)
    @action(detail=True, methods=["post"])
    def preview(self, request: Request, pk: str) -> Response:
        data = _valid(s.PreviewRequestSerializer, request.data)
        preview = services.template_render_preview(
            workspace=self.workspace,
            template=self.get_object(),
            contact=_owned(Contact, self.workspace, data["contact"], "contact"),
            context=data["context"] or None,
        )
        return Response({"subject": preview.subject, "html": preview.html, "text": preview.text})

    @extend_schema(request=s.TestSendSerializer, responses=s.MessageSerializer)
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str) -> Response:
        data = _valid(s.TestSendSerializer, request.data)
        message = services.test_send(
            workspace=self.workspace,
            template=self.get_object(),
            to=data["to"],
            contact=_owned(Contact, self.workspace, data["contact"], "contact"),
        )
        return Response(s.MessageSerializer(message).data, status=status.HTTP_202_ACCEPTED)


class SmsTemplateViewSet(mixins.RetrieveModelMixin, mixins.ListModelMixin, WorkspaceViewSet):
    queryset = SmsTemplate.objects.all()
    serializer_class = s.SmsTemplateSerializer
    write_capability = EDIT

    def safely_get_queryset(self, queryset: QuerySet[SmsTemplate]) -> QuerySet[SmsTemplate]:
        return _unarchived_in_lists(self, queryset.select_related("current_version"))

    def _save(self, data: dict[str, Any], template: SmsTemplate | None) -> SmsTemplate:
        return services.sms_template_save(
            workspace=self.workspace,
            template=template,
            name=data["name"],
            body=data["body"],
            topic=_owned(Topic, self.workspace, data["topic"], "topic"),
        )

    @extend_schema(request=s.SmsTemplateWriteSerializer, responses=s.SmsTemplateSerializer)
    def create(self, request: Request) -> Response:
        template = self._save(_valid(s.SmsTemplateWriteSerializer, request.data), None)
        return Response(s.SmsTemplateSerializer(template).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.SmsTemplateWriteSerializer, responses=s.SmsTemplateSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        template = self.get_object()
        merged = {**s.SmsTemplateSerializer(template).data, **request.data}
        saved = self._save(_valid(s.SmsTemplateWriteSerializer, merged), template)
        return Response(s.SmsTemplateSerializer(saved).data)

    @extend_schema(request=s.PreviewRequestSerializer)
    @action(detail=True, methods=["post"])
    def preview(self, request: Request, pk: str) -> Response:
        data = _valid(s.PreviewRequestSerializer, request.data)
        preview = services.template_render_preview(
            workspace=self.workspace,
            template=self.get_object(),
            contact=_owned(Contact, self.workspace, data["contact"], "contact"),
            context=data["context"] or None,
        )
        info = preview.sms
        return Response(
            {
                "body": preview.body,
                "encoding": info.encoding if info else None,
                "length": info.length if info else 0,
                "segments": info.segments if info else 0,
            }
        )


class LayoutViewSet(mixins.RetrieveModelMixin, mixins.ListModelMixin, WorkspaceViewSet):
    queryset = Layout.objects.all()
    serializer_class = s.LayoutSerializer
    write_capability = EDIT

    def create(self, request: Request) -> Response:
        data = _valid(s.LayoutSerializer, request.data)
        layout = services.layout_save(
            workspace=self.workspace, name=data["name"], html=data["html"]
        )
        return Response(s.LayoutSerializer(layout).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        layout = self.get_object()
        data = _valid(s.LayoutSerializer, {**s.LayoutSerializer(layout).data, **request.data})
        saved = services.layout_save(
            workspace=self.workspace, layout=layout, name=data["name"], html=data["html"]
        )
        return Response(s.LayoutSerializer(saved).data)


class TopicViewSet(mixins.RetrieveModelMixin, mixins.ListModelMixin, WorkspaceViewSet):
    queryset = Topic.objects.all()
    serializer_class = s.TopicSerializer
    write_capability = EDIT

    def list(self, request: Request) -> Response:
        services.topic_default(workspace=self.workspace)
        return super().list(request)

    def create(self, request: Request) -> Response:
        data = _valid(s.TopicSerializer, request.data)
        topic = services.topic_save(
            workspace=self.workspace, name=data["name"], description=data.get("description", "")
        )
        return Response(s.TopicSerializer(topic).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        topic = self.get_object()
        data = _valid(s.TopicSerializer, {**s.TopicSerializer(topic).data, **request.data})
        saved = services.topic_save(
            workspace=self.workspace,
            topic=topic,
            name=data["name"],
            description=data.get("description", ""),
        )
        return Response(s.TopicSerializer(saved).data)


class SuppressionViewSet(mixins.RetrieveModelMixin, mixins.ListModelMixin, WorkspaceViewSet):
    queryset = Suppression.objects.all()
    serializer_class = s.SuppressionSerializer
    write_capability = EDIT

    def safely_get_queryset(self, queryset: QuerySet[Suppression]) -> QuerySet[Suppression]:
        params = self.request.query_params
        if params.get("reason"):
            queryset = queryset.filter(reason=params["reason"])
        if params.get("channel"):
            queryset = queryset.filter(channel=params["channel"])
        if params.get("q"):
            queryset = queryset.filter(address__icontains=params["q"].lower())
        return queryset

    def create(self, request: Request) -> Response:
        data = _valid(s.SuppressionSerializer, request.data)
        suppression = services.suppression_add(
            workspace=self.workspace,
            channel=data.get("channel", "email"),
            address=data["address"],
            reason=data.get("reason", "manual"),
            detail=data.get("detail", ""),
            source="api",
        )
        return Response(s.SuppressionSerializer(suppression).data, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, pk: str) -> Response:
        services.suppression_remove(workspace=self.workspace, suppression=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class MessageViewSet(WorkspaceReadOnlyViewSet):
    queryset = Message.objects.all()
    serializer_class = s.MessageSerializer

    def safely_get_queryset(self, queryset: QuerySet[Message]) -> QuerySet[Message]:
        params = self.request.query_params
        for param in ("contact", "broadcast"):
            value = query_id(params, param)
            if value is not None:
                queryset = queryset.filter(**{f"{param}_id": value})
        for param in ("status", "source_type", "channel"):
            if params.get(param):
                queryset = queryset.filter(**{param: params[param]})
        return queryset


class BroadcastViewSet(mixins.RetrieveModelMixin, mixins.ListModelMixin, WorkspaceViewSet):
    queryset = Broadcast.objects.all()
    serializer_class = s.BroadcastSerializer
    write_capability = EDIT

    def safely_get_queryset(self, queryset: QuerySet[Broadcast]) -> QuerySet[Broadcast]:
        return queryset.prefetch_related("variants")

    def _input(self, data: dict[str, Any]) -> BroadcastInput:
        ws = self.workspace
        return BroadcastInput(
            name=data["name"],
            segment_id=data["segment"],
            channel=data["channel"],
            email_template=_owned(EmailTemplate, ws, data["email_template"], "email_template"),
            sms_template=_owned(SmsTemplate, ws, data["sms_template"], "sms_template"),
            topic=_owned(Topic, ws, data["topic"], "topic"),
            scheduled_at=data["scheduled_at"],
            local_time=data["local_time"],
            utm_campaign=data["utm_campaign"],
            sto_enabled=data["sto_enabled"],
            ab_enabled=data["ab_enabled"],
            ab_sample_percent=data["ab_sample_percent"],
            ab_wait_minutes=data["ab_wait_minutes"],
            ab_metric=data["ab_metric"],
            ab_min_recipients=data["ab_min_recipients"],
            ab_mode=data["ab_mode"],
            ab_waves=data["ab_waves"],
            ab_floor_percent=data["ab_floor_percent"],
            exclude_segment_ids=data["exclude_segments"],
            variants=[
                VariantInput(
                    v["label"],
                    v["subject"],
                    _owned(EmailTemplate, ws, v["email_template"], "email_template"),
                )
                for v in data["variants"]
            ],
        )

    @extend_schema(request=s.BroadcastWriteSerializer, responses=s.BroadcastSerializer)
    def create(self, request: Request) -> Response:
        data = _valid(s.BroadcastWriteSerializer, request.data)
        broadcast = broadcast_save(workspace=self.workspace, data=self._input(data))
        return Response(s.BroadcastSerializer(broadcast).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.BroadcastWriteSerializer, responses=s.BroadcastSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        broadcast = self.get_object()
        current = s.BroadcastSerializer(broadcast).data
        data = _valid(s.BroadcastWriteSerializer, {**current, **request.data})
        saved = broadcast_save(
            workspace=self.workspace, broadcast=broadcast, data=self._input(data)
        )
        return Response(s.BroadcastSerializer(saved).data)

    @extend_schema(request=None, responses=s.BroadcastSerializer)
    @action(detail=True, methods=["post"])
    def send(self, request: Request, pk: str) -> Response:
        broadcast = broadcast_send(workspace=self.workspace, broadcast=self.get_object())
        return Response(s.BroadcastSerializer(broadcast).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses=s.BroadcastSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        broadcast = broadcast_cancel(workspace=self.workspace, broadcast=self.get_object())
        return Response(s.BroadcastSerializer(broadcast).data)

    @action(detail=True, methods=["get"])
    def stats(self, request: Request, pk: str) -> Response:
        progress = broadcast_status(broadcast=self.get_object())
        progress["ab"] = [
            {**row, "variant": row["variant"].label} for row in progress.get("ab", [])
        ]
        return Response(progress)

    @action(detail=False, methods=["get"], url_path="sto-report")
    def sto_report(self, request: Request) -> Response:
        return Response(sto.sto_report(workspace=self.workspace))


class PrivacyExportView(WorkspaceAPIView):
    read_capability = Capability.EDIT_CONTACTS

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, contact_id: int) -> Response:
        contact = Contact.objects.filter(workspace=self.workspace, pk=contact_id).first()
        if contact is None:
            raise NotFound("No such contact.")
        return Response(privacy.contact_export(workspace=self.workspace, contact=contact))


class PrivacyEraseView(WorkspaceAPIView):
    write_capability = Capability.EDIT_CONTACTS

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, contact_id: int) -> Response:
        contact = Contact.objects.filter(workspace=self.workspace, pk=contact_id).first()
        if contact is None:
            raise NotFound("No such contact.")
        report = privacy.contact_erase(workspace=self.workspace, contact=contact)
        return Response(
            {
                "events": report.events,
                "messages": report.messages,
                "consent_log": report.consent_log,
                "suppressions_kept": report.suppressions_kept,
            }
        )
