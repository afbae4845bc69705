"""Segment-compatible ingestion endpoints, mounted at /v1/."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
