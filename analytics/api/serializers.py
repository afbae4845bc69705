"""Shapes of the analytics API's answers (for the OpenAPI schema; the views build plain dicts)."""

from __future__ import annotations

from rest_framework import serializers


class PeriodSerializer(serializers.Serializer):
    first = serializers.DateField(help_text="The period's first day (the workspace's calendar).")
    last = serializers.DateField(help_text="Its last day: today.")
    days = serializers.IntegerField()
    time_zone = serializers.CharField(help_text="The workspace's time zone the days are in.")


class ColumnSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="The key of this column in each row.")
    label = serializers.CharField(help_text="The column's header in the dashboard's CSV.")


class PanelSerializer(serializers.Serializer):
    name = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()


class PanelTableSerializer(serializers.Serializer):
    panel = serializers.CharField()
    title = serializers.CharField()
    period = PeriodSerializer()
    columns = ColumnSerializer(many=True)
    rows = serializers.ListField(
        child=serializers.DictField(),
        help_text="One object per row, keyed by the columns' keys: numbers, ISO 8601 dates, "
        "text, or null (nothing recorded, or a week that has not come yet).",
    )
