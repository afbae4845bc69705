"""The management API, /api/v1/. Each app contributes its routes from its api/urls.py."""

from django.urls import include, path

urlpatterns = [
    path("", include("workspaces.api.urls")),
]
