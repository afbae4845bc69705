"""Management API routes of analytics, mounted under /api/v1/."""

from django.urls import path

from .views import PanelListView, PanelView

urlpatterns = [
    path("analytics/panels/", PanelListView.as_view(), name="api_analytics_panels"),
    path("analytics/panels/<slug:name>/", PanelView.as_view(), name="api_analytics_panel"),
]
