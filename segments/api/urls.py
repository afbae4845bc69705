"""Management API routes of segments, mounted under /api/v1/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import SegmentCountView, SegmentViewSet

router = SimpleRouter()
router.register("segments", SegmentViewSet, basename="segment")

urlpatterns = [
    path("segments/count/", SegmentCountView.as_view(), name="api_segment_count"),
    *router.urls,
]
