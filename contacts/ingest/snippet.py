"""GET /v1/tendril.js: the website tracking snippet, served by Tendril itself.

Read once per process from contacts/static/contacts/tendril.js; browsers may cache it for
an hour (a fix reaches every site within that), and revalidate with the ETag after.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.views.decorators.http import require_safe

from workspaces.scoping import public_view

SNIPPET_PATH = Path(__file__).resolve().parent.parent / "static" / "contacts" / "tendril.js"


@cache
def _snippet() -> tuple[bytes, str]:
    body = SNIPPET_PATH.read_bytes()
    return body, '"' + hashlib.sha256(body).hexdigest()[:16] + '"'


@public_view("the tracking snippet is public JavaScript embedded by customers' websites")
@require_safe
def snippet_js(request: HttpRequest) -> HttpResponse:
    body, etag = _snippet()
    if request.META.get("HTTP_IF_NONE_MATCH") == etag:
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type="application/javascript; charset=utf-8")
    response["ETag"] = etag
    response["Cache-Control"] = "public, max-age=3600"
    response["Access-Control-Allow-Origin"] = "*"
    return response
