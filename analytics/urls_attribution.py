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
    path(
        "analytics/attribution/export.csv",
        attribution.attribution_export,
        name="attribution_export",
    ),
    path(
        "analytics/attribution/recompute/",
        attribution.attribution_recompute,
        name="attribution_recompute",
    ),
    path(
        "analytics/attribution/recompute/status/",
        attribution.attribution_recompute_status,
        name="attribution_recompute_status",
    ),
]
