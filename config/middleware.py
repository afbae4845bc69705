"""Project-wide middleware: the APIs never answer a server error in HTML.

Django turns an exception into a response inside each middleware layer, so by the time a
response reaches the outermost layer a crash on /api/ or /v1/ is already an HTML page —
Django's technical 500 page (settings included) when DEBUG is on. This layer, first in
MIDDLEWARE, swaps any non-JSON 5xx on those prefixes for the JSON error shape. The
exception has been logged by Django's handler already.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from workspaces.api.errors import json_server_error

API_PREFIXES = ("/api/", "/v1/")


class ApiServerErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code >= 500
            and request.path.startswith(API_PREFIXES)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            replacement = json_server_error(request)
            replacement.status_code = response.status_code
            return replacement
        return response
