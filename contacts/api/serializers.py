"""Shapes of contacts, events, attributes and tags in the management API."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from contacts.models import AttributeDefinition, Contact, Event, LifecycleStage


class ContactSerializer(serializers.ModelSerializer):
    owner = serializers.IntegerField(source="owner_id", allow_null=True, required=False)

    class Meta:
        model = Contact
        fields = [
            "id",
            "email",
            "phone",
            "first_name",
            "last_name",
            "company",
            "job_title",
            "country",
            "city",
            "timezone",
            "lifecycle_stage",
            "owner",
            "tags",
            "attributes",
            "external_id",
            "anonymous_ids",
            "email_consent",
            "email_consent_source",
            "email_consent_at",
            "sms_consent",
            "sms_consent_source",
            "sms_consent_at",
            "score",
            "last_seen_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ContactWriteSerializer(serializers.Serializer):
    """What a client may set. Checks types here; the service normalises and checks meaning
    (email syntax, phone number, owner is a member, attribute types) and names the field."""

    email = serializers.CharField(max_length=254, allow_blank=True, required=False)
    phone = serializers.CharField(max_length=40, allow_blank=True, required=False)
    first_name = serializers.CharField(max_length=150, allow_blank=True, required=False)
    last_name = serializers.CharField(max_length=150, allow_blank=True, required=False)
    company = serializers.CharField(max_length=200, allow_blank=True, required=False)
    job_title = serializers.CharField(max_length=200, allow_blank=True, required=False)
    country = serializers.CharField(max_length=64, allow_blank=True, required=False)
    city = serializers.CharField(max_length=120, allow_blank=True, required=False)
    timezone = serializers.CharField(max_length=64, allow_blank=True, required=False)
    lifecycle_stage = serializers.ChoiceField(choices=LifecycleStage.choices, required=False)
    owner = serializers.IntegerField(allow_null=True, required=False)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, max_length=100
    )
    attributes = serializers.DictField(required=False)
    external_id = serializers.CharField(max_length=255, allow_blank=True, required=False)
    email_consent = serializers.ChoiceField(
        choices=["subscribed", "unsubscribed", "pending", "unknown"], required=False
    )
    sms_consent = serializers.ChoiceField(
        choices=["subscribed", "unsubscribed", "pending", "unknown"], required=False
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = (
            set(self.initial_data) - set(self.fields)
            if isinstance(self.initial_data, dict)
            else set()
        )
        if unknown:
            name = sorted(unknown)[0]
            raise serializers.ValidationError(
                {name: [f'Unknown field. Custom data goes in attributes: {{"{name}": …}}.']}
            )
        return attrs


class EventSerializer(serializers.ModelSerializer):
    contact = serializers.IntegerField(source="contact_id", read_only=True)

    class Meta:
        model = Event
        fields = [
            "id",
            "contact",
            "type",
            "name",
            "properties",
            "context",
            "timestamp",
            "received_at",
            "message_id",
            "source",
        ]
        read_only_fields = fields


class AttributeDefinitionSerializer(serializers.ModelSerializer):
    class Meta:
        model = AttributeDefinition
        fields = ["id", "key", "label", "type", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class AttributeDefinitionUpdateSerializer(serializers.Serializer):
    label = serializers.CharField(max_length=150, allow_blank=True, required=False)
    type = serializers.ChoiceField(choices=AttributeDefinition.Type.choices, required=False)


class TagSerializer(serializers.Serializer):
    name = serializers.CharField()
    count = serializers.IntegerField()


class TagsChangeSerializer(serializers.Serializer):
    tags = serializers.ListField(
        child=serializers.CharField(max_length=100), allow_empty=False, max_length=100
    )


class TimelineSerializer(serializers.Serializer):
    results = EventSerializer(many=True)
    next = serializers.CharField(allow_null=True)
