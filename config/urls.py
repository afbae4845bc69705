from csp.constants import SELF
from csp.decorators import csp_replace, csp_update
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from workspaces.api.errors import json_not_found, json_server_error

from .middleware import API_PREFIXES
from .views import healthz

_DOC_REASON = "the OpenAPI description is public documentation"
for _view in (SpectacularAPIView, SpectacularSwaggerView, SpectacularRedocView):
    _view.tendril_scope = "public"  # type: ignore[attr-defined]
    _view.tendril_public_reason = _DOC_REASON  # type: ignore[attr-defined]
    _view.authentication_classes = []
    _view.permission_classes = []

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api_docs"),
    # ReDoc's search runs in a Web Worker it starts from a blob: URL: allowed on this page
    # alone. Its side menu always shows Redocly's logo from cdn.redoc.ly: images from other
    # hosts are refused here, so the page requests nothing outside (the logo is left out).
    path(
        "api/redoc/",
        csp_replace({"img-src": [SELF, "data:"]})(
            csp_update({"worker-src": [SELF, "blob:"]})(
                SpectacularRedocView.as_view(url_name="schema")
            )
        ),
        name="api_redoc",
    ),
    path("api/v1/", include("config.api_urls")),
    path("v1/", include("contacts.ingest_urls")),
    path("", include("workspaces.urls")),
    path("", include("workspaces.outbound.urls")),
    path("", include("contacts.urls")),
    path("", include("commerce.urls")),
    path("", include("segments.urls")),
    path("", include("scoring.urls")),
    path("", include("predictions.urls")),
    path("", include("messaging.urls")),
    path("", include("workflows.urls")),
    path("", include("analytics.urls")),
]


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith(API_PREFIXES):
        return json_not_found(request, exception)
    return render(request, "404.html", status=404)


def handler500(request: HttpRequest) -> HttpResponse:
    if request.path.startswith(API_PREFIXES):
        return json_server_error(request)
    return render(request, "500.html", status=500)
