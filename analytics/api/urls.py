"""Management API routes of analytics, mounted under /api/v1/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .attribution import AttributionReportView
from .funnels import FunnelViewSet
from .messages import DeliverabilityView, MessageStatsView
from .views import PanelListView, PanelView

router = SimpleRouter()
router.register("analytics/funnels", FunnelViewSet, basename="analytics-funnel")

urlpatterns = [
    path("analytics/panels/", PanelListView.as_view(), name="api_analytics_panels"),
    path("analytics/panels/<slug:name>/", PanelView.as_view(), name="api_analytics_panel"),
    path(
        "analytics/attribution/", AttributionReportView.as_view(), name="api_analytics_attribution"
    ),
    path(
        "analytics/messages/<str:kind>/<int:pk>/",
        MessageStatsView.as_view(),
        name="api_analytics_messages",
    ),
    path(
        "analytics/deliverability/",
        DeliverabilityView.as_view(),
        name="api_analytics_deliverability",
    ),
    *router.urls,
]
