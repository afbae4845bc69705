"""Write-key authentication for /v1/.

Segment clients send the write key as the HTTP Basic username; Segment also accepts
`writeKey` in the JSON body (the browser snippet uses that, since sendBeacon cannot set
headers). Secret keys are accepted too (a server holding one may send events).

Keys are resolved through the shared key cache in Redis (workspaces.api.authentication):
one Redis round trip per request carries both the cache lookup and the write key's rate
limit, and a revoked key is refused by every process at once.
"""

from __future__ import annotations

from rest_framework.request import Request

from workspaces.api.authentication import (
    ApiClient,
    WriteKeyAuthentication,
    authenticate_write_key,
    key_from_header,
)
from workspaces.models import ApiKey


class IngestionKeyAuthentication(WriteKeyAuthentication):
    """Authorization header first; otherwise `writeKey` in the (already parsed) body."""

    def authenticate(self, request: Request) -> tuple[ApiClient, ApiKey] | None:  # type: ignore[override]
        raw = key_from_header(request.META.get("HTTP_AUTHORIZATION", ""))
        if raw is None:
            payload = getattr(request._request, "tendril_payload", None)
            body_key = payload.get("writeKey") if isinstance(payload, dict) else None
            if not body_key:
                return None
            raw = str(body_key)
        return authenticate_write_key(request, raw)
