"""Routes of analytics' funnels pages (included by analytics/urls.py, namespace "analytics")."""

from django.urls import URLPattern, path  # noqa: F401

urlpatterns: list[URLPattern] = []
