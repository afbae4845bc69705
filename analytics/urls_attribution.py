"""Routes of analytics' attribution pages (included by analytics/urls.py, namespace "analytics")."""

from django.urls import URLPattern, path

from .views import attribution

urlpatterns: list[URLPattern] = [
    path("analytics/attribution/", attribution.attribution_report, name="attribution"),
    path(
        "analytics/attribution/settings/",
        attribution.attribution_settings_view,
        name="attribution_settings",
    ),
]
