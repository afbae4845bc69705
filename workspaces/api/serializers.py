from rest_framework import serializers

from workspaces.models import Membership, Workspace


class WorkspaceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Workspace
        fields = ["id", "name", "slug", "timezone", "currency", "created_at"]
        read_only_fields = fields


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
