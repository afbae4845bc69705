"""Routes of analytics' funnels pages (included by analytics/urls.py, namespace "analytics")."""

from django.urls import URLPattern, path

from .views import funnels

urlpatterns: list[URLPattern] = [
    path("analytics/funnels/", funnels.funnel_list, name="funnels"),
    path("analytics/funnels/new/", funnels.funnel_edit, name="funnel_create"),
    path("analytics/funnels/<int:funnel_id>/", funnels.funnel_edit, name="funnel"),
    path("analytics/funnels/<int:funnel_id>/delete/", funnels.funnel_delete, name="funnel_delete"),
    path(
        "analytics/funnels/<int:funnel_id>/export.csv", funnels.funnel_export, name="funnel_export"
    ),
]
