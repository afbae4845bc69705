"""Serializers of the commerce API (reads; writes go through services, which name the field)."""

from __future__ import annotations

from rest_framework import serializers

from commerce.models import CommerceRun, Product, ProductImport


class ProductSerializer(serializers.ModelSerializer):
    reorder_mean_error = serializers.FloatField(
        read_only=True,
        allow_null=True,
        help_text="Mean absolute error of its reorder predictions so far, in days.",
    )

    class Meta:
        model = Product
        fields = [
            "id",
            "product_id",
            "sku",
            "name",
            "url",
            "image_url",
            "price",
            "currency",
            "category",
            "in_stock",
            "source",
            "managed",
            "views",
            "adds",
            "purchases",
            "reorder_days",
            "reorder_sample",
            "reorder_checked",
            "reorder_mean_error",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ProductWriteSerializer(serializers.Serializer):
    """A product as an integration sends it; every value is checked by the service."""

    product_id = serializers.CharField(required=False, max_length=200)
    sku = serializers.CharField(required=False, allow_blank=True, max_length=200)
    name = serializers.CharField(required=False, allow_blank=True, max_length=300)
    url = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    image_url = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    price = serializers.JSONField(required=False, help_text="A number ≥ 0, or null.")
    currency = serializers.CharField(required=False, allow_blank=True, max_length=3)
    category = serializers.CharField(required=False, allow_blank=True, max_length=200)
    in_stock = serializers.BooleanField(required=False)


class ProductImportSerializer(serializers.ModelSerializer):
    percent = serializers.IntegerField(read_only=True)

    class Meta:
        model = ProductImport
        fields = [
            "id",
            "filename",
            "format",
            "status",
            "total_rows",
            "processed_rows",
            "created_count",
            "updated_count",
            "error_count",
            "errors",
            "failure",
            "percent",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields


class FeedUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A CSV or JSON catalogue feed (multipart/form-data).")


class CommerceRunSerializer(serializers.ModelSerializer):
    percent = serializers.IntegerField(read_only=True)

    class Meta:
        model = CommerceRun
        fields = [
            "id",
            "status",
            "trigger",
            "contacts_total",
            "contacts_done",
            "predictions",
            "percent",
            "created_at",
            "started_at",
            "finished_at",
            "failure",
        ]
        read_only_fields = fields
