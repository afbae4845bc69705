"""HTML pages of workflows (mounted at the site root; the app chooses its own prefixes)."""

from django.urls import path  # noqa: F401

app_name = "workflows"
urlpatterns: list = []
