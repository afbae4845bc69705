"""The management API, /api/v1/. Each app contributes its routes from its api/urls.py."""

from django.urls import include, path

urlpatterns = [
    path("", include("workspaces.api.urls")),
    path("", include("workspaces.outbound.api")),
    path("", include("contacts.api.urls")),
    path("", include("commerce.api.urls")),
    path("", include("segments.api.urls")),
    path("", include("scoring.api.urls")),
    path("", include("messaging.api.urls")),
    path("", include("workflows.api.urls")),
    path("", include("analytics.api.urls")),
]
