"""Write-key authentication for /v1/, with a short in-process cache.

Segment clients send the write key as the HTTP Basic username; Segment also accepts
`writeKey` in the JSON body (the browser snippet uses that, since sendBeacon cannot set
headers). Secret keys are accepted too (a server holding one may send events).

Every ingestion request would otherwise cost a key lookup. Keys are cached per process
for `KEY_CACHE_SECONDS`, so **a revoked key is refused at most that many seconds after
revocation** (immediately in the process that revoked it, via the post_save signal).
Unknown keys are not cached, so a new key works at once.
"""

from __future__ import annotations

import base64
import hashlib
import time
from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from rest_framework import exceptions
from rest_framework.request import Request

from workspaces.api.authentication import ApiClient, WriteKeyAuthentication, _bind_workspace
from workspaces.models import ApiKey
from workspaces.selectors import api_key_resolve

KEY_CACHE_SECONDS = 10.0
_cache: dict[str, tuple[float, ApiKey]] = {}
_CACHE_MAX = 10_000


def write_key_resolve(raw: str) -> ApiKey | None:
    """The active key for `raw` (cached up to KEY_CACHE_SECONDS), or None."""
    if not raw or len(raw) > 200:
        return None
    digest = hashlib.sha256(raw.encode()).hexdigest()
    now = time.monotonic()
    hit = _cache.get(digest)
    if hit is not None and hit[0] > now:
        return hit[1]
    key = api_key_resolve(raw=raw)  # also touches last_used_at, at most once a minute
    if key is None:
        _cache.pop(digest, None)
        return None
    if len(_cache) >= _CACHE_MAX:
        _cache.clear()
    _cache[digest] = (now + KEY_CACHE_SECONDS, key)
    return key


@receiver(post_save, sender=ApiKey)
@receiver(post_delete, sender=ApiKey)
def _forget_key(sender: Any, instance: ApiKey, **kwargs: Any) -> None:
    _cache.pop(instance.key_hash, None)


def key_from_header(header: str) -> str | None:
    """The raw key in an Authorization header (Basic username, or Bearer), or None."""
    if not header:
        return None
    scheme, _, payload = header.partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(payload.strip(), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            raise exceptions.AuthenticationFailed(
                "The Basic authorization header is not valid base64.",
                code="bad_authorization_header",
            )
        return decoded.partition(":")[0]
    if scheme.lower() == "bearer":
        return payload.strip()
    raise exceptions.AuthenticationFailed(
        "Send the write key as the HTTP Basic username.", code="bad_authorization_header"
    )


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
        key = write_key_resolve(raw)
        if key is None:
            raise exceptions.AuthenticationFailed(
                "Unknown or revoked write key.", code="invalid_key"
            )
        _bind_workspace(request, key.workspace)
        return ApiClient(api_key=key, workspace=key.workspace, capabilities=frozenset()), key
