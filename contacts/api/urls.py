"""Management API routes of contacts, mounted under /api/v1/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import AttributeDefinitionViewSet, ContactViewSet, EventViewSet, TagListView

router = SimpleRouter()
router.register("contacts", ContactViewSet, basename="contact")
router.register("events", EventViewSet, basename="event")
router.register("attributes", AttributeDefinitionViewSet, basename="attribute")

urlpatterns = [
    path("tags/", TagListView.as_view(), name="api_tags"),
    *router.urls,
]
