"""Serializers of the messaging API. Writes validate shapes here; meaning (template syntax,
footer, segments) is checked by the services, which raise ValidationFailed naming the field."""

from __future__ import annotations

from rest_framework import serializers

from ..models import (
    Broadcast,
    BroadcastVariant,
    EmailTemplate,
    Layout,
    Message,
    SmsTemplate,
    Suppression,
    TemplateVersion,
    Topic,
)
from ..models.audience import SuppressionReason


class LayoutSerializer(serializers.ModelSerializer):
    class Meta:
        model = Layout
        fields = ["id", "name", "html", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class TopicSerializer(serializers.ModelSerializer):
    class Meta:
        model = Topic
        fields = ["id", "name", "key", "description", "is_default"]
        read_only_fields = ["id", "key", "is_default"]


class EmailTemplateSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(source="current_version.number", read_only=True)

    class Meta:
        model = EmailTemplate
        fields = [
            "id",
            "name",
            "subject",
            "preheader",
            "html",
            "text",
            "from_name",
            "from_email",
            "reply_to",
            "layout",
            "topic",
            "document",
            "version",
            "archived_at",
            "created_at",
            "updated_at",
        ]


class EmailTemplateWriteSerializer(serializers.Serializer):
    """A code template sends `html` (and optionally `text`); a block template sends
    `document` (docs/messaging.md), and its html and text are generated (what is sent in
    `html`/`text` alongside a document is ignored)."""

    name = serializers.CharField(max_length=120)
    subject = serializers.CharField(max_length=300)
    html = serializers.CharField(
        trim_whitespace=False, required=False, allow_blank=True, default=""
    )
    document = serializers.JSONField(required=False, allow_null=True, default=None)
    preheader = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    text = serializers.CharField(
        required=False, allow_blank=True, default="", trim_whitespace=False
    )
    from_name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    from_email = serializers.EmailField(required=False, allow_blank=True, default="")
    reply_to = serializers.EmailField(required=False, allow_blank=True, default="")
    layout = serializers.IntegerField(required=False, allow_null=True, default=None)
    topic = serializers.IntegerField(required=False, allow_null=True, default=None)

    def validate(self, data: dict) -> dict:
        if data.get("document") is None and not data.get("html"):
            raise serializers.ValidationError({"html": ["This field is required."]})
        return data


class RenderRequestSerializer(serializers.Serializer):
    """POST email-templates/render/: unsaved work rendered as a contact (nothing is saved)."""

    document = serializers.JSONField(required=False, allow_null=True, default=None)
    html = serializers.CharField(
        trim_whitespace=False, required=False, allow_blank=True, allow_null=True, default=None
    )
    subject = serializers.CharField(
        max_length=300, required=False, allow_blank=True, default="", trim_whitespace=False
    )
    preheader = serializers.CharField(
        max_length=300, required=False, allow_blank=True, default="", trim_whitespace=False
    )
    contact_id = serializers.IntegerField(required=False, allow_null=True, default=None)

    def validate(self, data: dict) -> dict:
        if data.get("document") is None and data.get("html") is None:
            raise serializers.ValidationError({"document": ["Send a document or html."]})
        return data


class RenderResponseSerializer(serializers.Serializer):
    subject = serializers.CharField()
    html = serializers.CharField()
    text = serializers.CharField()
    errors = serializers.DictField(child=serializers.CharField())


class TemplateVersionSerializer(serializers.ModelSerializer):
    created_by = serializers.EmailField(source="created_by.email", read_only=True, default=None)

    class Meta:
        model = TemplateVersion
        fields = [
            "id",
            "number",
            "subject",
            "preheader",
            "html",
            "text",
            "from_name",
            "from_email",
            "reply_to",
            "layout",
            "topic",
            "document",
            "block_conditions",
            "compiled_html",
            "compiled_text",
            "segment_ids",
            "note",
            "created_by",
            "created_at",
        ]


class SmsTemplateSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(source="current_version.number", read_only=True)

    class Meta:
        model = SmsTemplate
        fields = [
            "id",
            "name",
            "body",
            "topic",
            "version",
            "archived_at",
            "created_at",
            "updated_at",
        ]


class SmsTemplateWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    body = serializers.CharField(trim_whitespace=False)
    topic = serializers.IntegerField(required=False, allow_null=True, default=None)


class PreviewRequestSerializer(serializers.Serializer):
    contact = serializers.IntegerField(required=False, allow_null=True, default=None)
    context = serializers.DictField(required=False, default=dict)


class TestSendSerializer(serializers.Serializer):
    to = serializers.CharField(max_length=254)
    contact = serializers.IntegerField(required=False, allow_null=True, default=None)


class SuppressionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Suppression
        fields = [
            "id",
            "channel",
            "address",
            "reason",
            "detail",
            "source",
            "soft_bounce_count",
            "active",
            "created_at",
        ]
        read_only_fields = ["id", "source", "soft_bounce_count", "active", "created_at"]
        # The model's defaults would make `address` optional (and the view's data["address"]
        # a KeyError on `{}`): an address is what a suppression is.
        extra_kwargs = {
            "reason": {"default": SuppressionReason.MANUAL},
            "address": {"required": True, "allow_blank": False},
        }


class MessageSerializer(serializers.ModelSerializer):
    template_version = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = [
            "id",
            "contact",
            "channel",
            "source_type",
            "source_id",
            "broadcast",
            "variant",
            "topic",
            "status",
            "error",
            "to_address",
            "subject",
            "provider_message_id",
            "attempts",
            "send_after",
            "sent_at",
            "delivered_at",
            "opened_at",
            "machine_opened_at",
            "clicked_at",
            "bounced_at",
            "complained_at",
            "sending_domain",
            "template_version",
            "meta",
            "created_at",
        ]

    def get_template_version(self, message: Message) -> int | None:
        return message.email_version_id or message.sms_version_id


class VariantSerializer(serializers.ModelSerializer):
    class Meta:
        model = BroadcastVariant
        fields = ["label", "subject", "email_template"]


class BroadcastSerializer(serializers.ModelSerializer):
    variants = VariantSerializer(many=True, read_only=True)
    segment = serializers.IntegerField(source="segment_id", read_only=True)
    exclude_segments = serializers.ListField(
        source="exclude_segment_ids", child=serializers.IntegerField(), read_only=True
    )

    class Meta:
        model = Broadcast
        fields = [
            "id",
            "name",
            "channel",
            "email_template",
            "sms_template",
            "segment",
            "exclude_segments",
            "topic",
            "status",
            "scheduled_at",
            "local_time",
            "utm_campaign",
            "sto_enabled",
            "sto_control_percent",
            "sto_explore_percent",
            "ab_enabled",
            "ab_sample_percent",
            "ab_wait_minutes",
            "ab_metric",
            "ab_test_ends_at",
            "ab_min_recipients",
            "ab_mode",
            "ab_waves",
            "ab_floor_percent",
            "ab_allocations",
            "ab_winner",
            "ab_no_winner_reason",
            "variants",
            "recipients_total",
            "started_at",
            "finished_at",
            "error",
            "created_at",
        ]


class VariantWriteSerializer(serializers.Serializer):
    label = serializers.CharField(max_length=8)
    subject = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    email_template = serializers.IntegerField(required=False, allow_null=True, default=None)


class BroadcastWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=150)
    segment = serializers.IntegerField()
    exclude_segments = serializers.ListField(
        child=serializers.IntegerField(), required=False, default=list, max_length=100
    )
    channel = serializers.ChoiceField(choices=["email", "sms", "whatsapp"], default="email")
    email_template = serializers.IntegerField(required=False, allow_null=True, default=None)
    sms_template = serializers.IntegerField(required=False, allow_null=True, default=None)
    topic = serializers.IntegerField(required=False, allow_null=True, default=None)
    scheduled_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    local_time = serializers.BooleanField(required=False, default=False)
    utm_campaign = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default=""
    )
    sto_enabled = serializers.BooleanField(required=False, default=False)
    ab_enabled = serializers.BooleanField(required=False, default=False)
    ab_sample_percent = serializers.IntegerField(required=False, default=20)
    ab_wait_minutes = serializers.IntegerField(required=False, default=240, min_value=0)
    ab_metric = serializers.ChoiceField(choices=["open", "click"], default="click")
    ab_min_recipients = serializers.IntegerField(
        required=False, default=500, min_value=1, max_value=1_000_000
    )
    ab_mode = serializers.ChoiceField(
        choices=["fixed", "smart"],
        default="fixed",
        help_text="fixed: test on a sample, then the winner to the rest; smart: waves, each "
        "allocated by Thompson sampling on the results so far.",
    )
    ab_waves = serializers.IntegerField(
        required=False, default=4, help_text="Smart: waves in all, the test wave included (2-10)."
    )
    ab_floor_percent = serializers.IntegerField(
        required=False, default=10, help_text="Smart: the least share (%) each variant keeps."
    )
    variants = VariantWriteSerializer(many=True, required=False, default=list)
