"""API shapes of scoring. Writes are validated by the services (one set of rules for the UI
and the API); these serializers only check types and shape the output."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from contacts.models import Contact, LifecycleStage

from ..models import (
    Deal,
    DecayMode,
    NegativeSignal,
    RuleKind,
    ScoreChange,
    ScoringModel,
    ScoringRule,
)


class ScoringModelSerializer(serializers.ModelSerializer):
    decay_mode = serializers.ChoiceField(choices=DecayMode.choices, required=False)
    exit_threshold = serializers.IntegerField(read_only=True)

    class Meta:
        model = ScoringModel
        fields = [
            "id",
            "name",
            "description",
            "is_primary",
            "is_active",
            "mql_threshold",
            "hysteresis",
            "exit_threshold",
            "decay_mode",
            "decay_percent",
            "decay_period_days",
            "expire_after_days",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {"name": {"required": False}}


class ScoringRuleSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=RuleKind.choices, required=False)
    signal = serializers.ChoiceField(
        choices=NegativeSignal.choices, required=False, allow_blank=True
    )
    where = serializers.JSONField(required=False)
    filter = serializers.JSONField(required=False)

    class Meta:
        model = ScoringRule
        fields = [
            "id",
            "model",
            "kind",
            "name",
            "is_active",
            "points",
            "event",
            "where",
            "filter",
            "signal",
            "inactive_days",
            "cap_per_day",
            "cap_total",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "model", "created_at", "updated_at"]
        extra_kwargs = {"name": {"required": False}, "points": {"required": False}}


class ScoreChangeSerializer(serializers.ModelSerializer):
    rule_name = serializers.CharField(source="rule.name", default=None, read_only=True)

    class Meta:
        model = ScoreChange
        fields = [
            "id",
            "model",
            "rule",
            "rule_name",
            "points",
            "reason",
            "source",
            "event_id",
            "at",
            "decays",
            "expires_at",
        ]


@extend_schema_field(
    {
        "type": "object",
        "nullable": True,
        "properties": {
            "id": {"type": "integer"},
            "email": {"type": "string"},
            "name": {"type": "string"},
        },
    }
)
class OwnerField(serializers.Field):
    def to_representation(self, value: Any) -> dict[str, Any] | None:
        if value is None:
            return None
        return {"id": value.pk, "email": value.email, "name": value.get_full_name()}


class LeadSerializer(serializers.ModelSerializer):
    owner = OwnerField(read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Contact
        fields = [
            "id",
            "email",
            "first_name",
            "last_name",
            "company",
            "job_title",
            "phone",
            "country",
            "city",
            "external_id",
            "lifecycle_stage",
            "score",
            "owner",
            "last_seen_at",
            "created_at",
            "updated_at",
            "url",
        ]

    def get_url(self, contact: Contact) -> str:
        from django.conf import settings

        return f"{settings.SITE_URL}{reverse('scoring:lead', args=[contact.pk])}"


class StageChangeSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=LifecycleStage.choices)
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class DealSerializer(serializers.ModelSerializer):
    value = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    status = serializers.ChoiceField(choices=Deal.Status.choices, default=Deal.Status.WON)

    class Meta:
        model = Deal
        fields = [
            "id",
            "contact",
            "name",
            "value",
            "currency",
            "status",
            "closed_at",
            "external_id",
            "created_at",
        ]
        read_only_fields = ["id", "contact", "closed_at", "created_at"]
        extra_kwargs = {
            "currency": {"required": False},
            "name": {"required": False},
            "external_id": {"required": False},
        }
