"""Management API routes of commerce, mounted under /api/v1/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import CommerceRunView, ContactCommerceView, ProductImportViewSet, ProductViewSet

router = SimpleRouter()
router.register("products/imports", ProductImportViewSet, basename="product-import")
router.register("products", ProductViewSet, basename="product")

urlpatterns = [
    path(
        "commerce/contacts/<int:contact_id>/",
        ContactCommerceView.as_view(),
        name="api_contact_commerce",
    ),
    path("commerce/runs/", CommerceRunView.as_view(), name="api_commerce_run"),
    *router.urls,
]
