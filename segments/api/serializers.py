"""API shapes of segments. Filters are validated by segments.filters (errors name the node)."""

from __future__ import annotations

from rest_framework import serializers

from segments.models import Segment, SegmentMembership, SegmentMembershipChange


class SegmentSerializer(serializers.ModelSerializer):
    filter = serializers.JSONField(required=False, help_text="The filter tree (docs/segments.md).")

    class Meta:
        model = Segment
        fields = [
            "id",
            "name",
            "description",
            "kind",
            "filter",
            "member_count",
            "drifts",
            "recompute_status",
            "recompute_progress",
            "recompute_error",
            "last_recomputed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "member_count",
            "drifts",
            "recompute_status",
            "recompute_progress",
            "recompute_error",
            "last_recomputed_at",
            "created_at",
            "updated_at",
        ]
        # Uniqueness and filter validity are the services' job (one place, one message).
        validators: list = []


class SegmentUpdateSerializer(SegmentSerializer):
    class Meta(SegmentSerializer.Meta):
        read_only_fields = [*SegmentSerializer.Meta.read_only_fields, "kind"]
        extra_kwargs = {"name": {"required": False}}


class FilterCountSerializer(serializers.Serializer):
    filter = serializers.JSONField(help_text="An unsaved filter tree.")
    limit = serializers.IntegerField(required=False, min_value=0, max_value=100, default=20)


class MembersChangeSerializer(serializers.Serializer):
    contact_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, default=list, max_length=10_000
    )
    emails = serializers.ListField(
        child=serializers.CharField(max_length=254), required=False, default=list, max_length=10_000
    )

    def validate(self, attrs: dict) -> dict:
        if not attrs["contact_ids"] and not attrs["emails"]:
            raise serializers.ValidationError({"contact_ids": "give contact_ids or emails"})
        return attrs


class MemberSerializer(serializers.ModelSerializer):
    contact_id = serializers.IntegerField(source="contact.id")
    email = serializers.CharField(source="contact.email")
    name = serializers.CharField(source="contact.display_name")

    class Meta:
        model = SegmentMembership
        fields = ["id", "contact_id", "email", "name", "entered_at"]


class ChangeSerializer(serializers.ModelSerializer):
    contact_id = serializers.IntegerField(source="contact.id")
    email = serializers.CharField(source="contact.email")

    class Meta:
        model = SegmentMembershipChange
        fields = ["id", "contact_id", "email", "kind", "reason", "at"]
