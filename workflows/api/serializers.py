"""Serializers of the workflows API (shapes only: the services do the validating)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from ..models import StepLog, Workflow, WorkflowRun, WorkflowVersion

SETTINGS = [
    "reentry",
    "reentry_days",
    "goal_filter",
    "suppression_segment_id",
    "send_window",
    "daily_message_cap",
    "holdout_percent",
]


class VersionSerializer(serializers.ModelSerializer):
    is_published = serializers.BooleanField(read_only=True)

    class Meta:
        model = WorkflowVersion
        fields = [
            "id",
            "number",
            "graph",
            "is_published",
            "published_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class VersionSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = WorkflowVersion
        fields = ["id", "number", "published_at"]
        read_only_fields = fields


class WorkflowSerializer(serializers.ModelSerializer):
    current_version = VersionSummarySerializer(read_only=True)
    counts = serializers.SerializerMethodField()

    class Meta:
        model = Workflow
        fields = [
            "id",
            "name",
            "description",
            "status",
            *SETTINGS,
            "current_version",
            "counts",
            "activated_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_counts(self, workflow: Workflow) -> dict[str, int] | None:
        if not hasattr(workflow, "runs_total"):
            return None
        return {
            "runs": workflow.runs_total,
            "live": workflow.runs_live,
            "converted": workflow.runs_converted,
            "failed": workflow.runs_failed,
        }


class WorkflowDetailSerializer(WorkflowSerializer):
    """One workflow: also its draft and the secret that signs its webhooks."""

    draft = serializers.SerializerMethodField()

    class Meta(WorkflowSerializer.Meta):
        fields = [*WorkflowSerializer.Meta.fields, "draft", "webhook_secret"]
        read_only_fields = fields

    def get_draft(self, workflow: Workflow) -> dict[str, Any] | None:
        from ..selectors import workflow_draft

        draft = workflow_draft(workflow=workflow)
        return VersionSerializer(draft).data if draft else None


class WorkflowWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    reentry = serializers.CharField(required=False)
    # The column is a PositiveIntegerField: a negative value failed its CHECK (a 500).
    reentry_days = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=36500
    )
    goal_filter = serializers.JSONField(required=False, allow_null=True)
    suppression_segment_id = serializers.IntegerField(required=False, allow_null=True)
    send_window = serializers.JSONField(required=False, allow_null=True)
    daily_message_cap = serializers.IntegerField(required=False, allow_null=True)
    holdout_percent = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=50,
        help_text="Share of those who enter held out (their run ends at once) to measure lift.",
    )
    graph = serializers.JSONField(required=False, help_text="Optional: the first draft's graph.")


class GraphSerializer(serializers.Serializer):
    graph = serializers.JSONField()


class PublishSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        required=False, help_text="A version id; default: the draft."
    )
    confirm_warnings = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Publish despite warnings (e.g. an event never received here); without it "
        "warnings answer 409 warnings_unconfirmed with the list.",
    )
    move = serializers.DictField(
        child=serializers.CharField(max_length=64),
        required=False,
        help_text='Removed step → step of the new version (or "keep") for contacts still '
        "at steps this version removes.",
    )


class EnrollSerializer(serializers.Serializer):
    contact_id = serializers.IntegerField(required=False)
    email = serializers.EmailField(required=False)
    properties = serializers.DictField(required=False, default=dict)
    key = serializers.CharField(
        required=False, max_length=150, help_text="Idempotency key: the same key enrols once."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("contact_id") and not attrs.get("email"):
            raise serializers.ValidationError({"contact_id": ["Give contact_id or email."]})
        return attrs


class ImportSerializer(serializers.Serializer):
    document = serializers.JSONField(required=False, help_text="An exported workflow document.")
    library = serializers.CharField(required=False, help_text="The name of a ready-made workflow.")
    name = serializers.CharField(required=False, max_length=200)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if bool(attrs.get("document")) == bool(attrs.get("library")):
            raise serializers.ValidationError(
                {"document": ["Give either `document` or `library`."]}
            )
        return attrs


class SimulationEventSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    properties = serializers.DictField(required=False, default=dict)
    after_hours = serializers.FloatField(min_value=0, help_text="Hours after enrolment.")


class TestRunSerializer(serializers.Serializer):
    contact_id = serializers.IntegerField(required=False)
    sample = serializers.DictField(
        required=False, help_text="A sample contact: email, first_name, attributes …"
    )
    version = serializers.CharField(
        required=False, default="draft", help_text="'draft', 'current' or a version id."
    )
    trigger = serializers.DictField(
        required=False, default=dict, help_text="The triggering event's name and properties."
    )
    events = SimulationEventSerializer(many=True, required=False, default=list)
    max_days = serializers.IntegerField(required=False, default=400, min_value=1, max_value=3650)


class StepSerializer(serializers.ModelSerializer):
    class Meta:
        model = StepLog
        fields = [
            "id",
            "node_id",
            "node_type",
            "outcome",
            "port",
            "at",
            "duration_ms",
            "error",
            "detail",
        ]
        read_only_fields = fields


class RunSerializer(serializers.ModelSerializer):
    contact = serializers.SerializerMethodField()
    version = serializers.IntegerField(source="version.number", read_only=True)

    class Meta:
        model = WorkflowRun
        fields = [
            "id",
            "workflow_id",
            "version",
            "contact",
            "status",
            "current_node",
            "next_step_at",
            "attempts",
            "error",
            "context",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_contact(self, run: WorkflowRun) -> dict[str, Any]:
        contact = run.contact
        return {"id": contact.pk, "email": contact.email, "name": contact.display_name}


class RunDetailSerializer(RunSerializer):
    steps = serializers.SerializerMethodField()

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "steps"]
        read_only_fields = fields

    def get_steps(self, run: WorkflowRun) -> list[dict[str, Any]]:
        from ..selectors import run_steps

        return StepSerializer(run_steps(run=run), many=True).data  # type: ignore[return-value]
