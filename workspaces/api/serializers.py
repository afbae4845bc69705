from rest_framework import serializers

from workspaces.models import Invitation, Membership, Workspace
from workspaces.roles import Role


class WorkspaceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Workspace
        fields = [
            "id",
            "name",
            "slug",
            "timezone",
            "currency",
            "control_group_percent",
            "created_at",
        ]
        read_only_fields = fields


class WorkspaceSettingsSerializer(serializers.Serializer):
    """What PATCH /api/v1/workspace/ takes (any subset)."""

    name = serializers.CharField(max_length=120, required=False)
    timezone = serializers.CharField(required=False, help_text="An IANA time zone.")
    api_rate_limit = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=10_000
    )
    currency = serializers.CharField(required=False, help_text="An ISO 4217 code, e.g. EUR.")
    control_group_percent = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=50,
        help_text="Share of contacts held out of all marketing (the global control group); 0: off.",
    )


class MembershipSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email", read_only=True)
    name = serializers.CharField(source="user.get_full_name", read_only=True)
    user_id = serializers.IntegerField(
        read_only=True, help_text="The person's user id (what workflows' owner/assignee take)."
    )

    class Meta:
        model = Membership
        fields = ["id", "user_id", "email", "name", "role", "created_at"]
        read_only_fields = fields


class MembershipRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


class InvitationSerializer(serializers.ModelSerializer):
    invited_by = serializers.EmailField(source="invited_by.email", read_only=True, default=None)

    class Meta:
        model = Invitation
        fields = ["id", "email", "role", "invited_by", "expires_at", "created_at"]
        read_only_fields = fields


class InvitationCreateSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=Role.choices, default=Role.MARKETER)


class StrictFieldsMixin(serializers.Serializer):
    """A body naming a field the serializer does not have is a 400 naming it, not ignored
    (a misspelt setting would otherwise look saved). Read-only fields sent back as they
    were read are ignored, as DRF does."""

    def validate(self, attrs: dict) -> dict:  # type: ignore[type-arg]
        data = self.initial_data
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, dict) else []
        if unknown:
            raise serializers.ValidationError({unknown[0]: ["Unknown field."]})
        return super().validate(attrs)  # type: ignore[no-any-return]
