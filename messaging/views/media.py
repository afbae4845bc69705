"""Email images stored on the file system, served publicly (email clients fetch them with no
login). Names are unguessable (messaging/services/media.py) and only names of that shape are
served; no tenant row is read. With S3-compatible storage (production.py) images are served
by the bucket and this view is not reached."""

from __future__ import annotations

import re

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.http import require_http_methods

from workspaces.scoping import public_view

NAME = re.compile(r"^media/\d{4}/\d{2}/[A-Za-z0-9_-]{16,64}\.(png|jpg|gif)$")
TYPES = {"png": "image/png", "jpg": "image/jpeg", "gif": "image/gif"}
YEAR = 365 * 24 * 3600


@public_view("email images: fetched by email clients with no login; the names are unguessable")
@require_http_methods(["GET", "HEAD"])
def media_file(request: HttpRequest, name: str) -> FileResponse:
    match = NAME.match(name)
    if match is None or not default_storage.exists(name):
        raise Http404("No such image.")
    response = FileResponse(default_storage.open(name, "rb"), content_type=TYPES[match.group(1)])
    # A stored image never changes (a new upload gets a new name).
    response["Cache-Control"] = f"public, max-age={YEAR}, immutable"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response
