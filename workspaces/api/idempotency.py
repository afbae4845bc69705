"""`Idempotency-Key` on every POST of the management API, with Stripe's semantics.

A POST to /api/v1/ that carries `Idempotency-Key: <up to 255 characters>`:
- first time: the key is claimed (committed at once, so a concurrent request sees it), the
  view runs inside one transaction that also stores its response — the writes and the
  stored answer commit together or not at all;
- same key and same request (method, path, body) within 24 h: the stored response is
  replayed, with `Idempotent-Replayed: true`; nothing runs again;
- same key, different request: 422 `idempotency_key_reused`;
- same key while the first is still running: 409 `idempotency_key_in_flight`.

A 5xx is not stored: its transaction rolled back, the key is released and the client may
retry with it. Requests refused before the view runs (authentication, permission,
throttling) claim nothing. Keys are per workspace: another workspace may use the same key.

Stored in PostgreSQL (a tenant table), not Redis: the answer must commit in the same
transaction as the writes it describes, or a crash between the two would run a retried
request twice; and Redis is a cache that may be flushed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from workspaces.errors import Conflict, TendrilError, ValidationFailed
from workspaces.models import IdempotencyKey, Workspace

HEADER = "HTTP_IDEMPOTENCY_KEY"
REPLAYED_HEADER = "Idempotent-Replayed"
PATH_PREFIX = "/api/v1/"
MAX_KEY_LENGTH = 255
# Stripe keeps keys for 24 hours; after that a key is new again.
TTL = timedelta(hours=24)
# A request still "in flight" after this long died with its worker (gunicorn's timeout is
# far shorter): its transaction rolled back, so the key may be claimed again.
IN_FLIGHT_LEASE = timedelta(minutes=5)


class KeyReused(TendrilError):
    status = 422
    code = "idempotency_key_reused"


class KeyInFlight(Conflict):
    code = "idempotency_key_in_flight"


@dataclass
class Claim:
    row_id: int
    done: bool = False


def applies_to(request: HttpRequest) -> bool:
    return request.method == "POST" and request.path.startswith(PATH_PREFIX)


def key_from(request: HttpRequest) -> str | None:
    """The request's Idempotency-Key, or None; a malformed one is a 400 naming the header."""
    raw = request.META.get(HEADER)
    if raw is None:
        return None
    key = raw.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationFailed(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters.",
            fields={"Idempotency-Key": ["invalid"]},
            code="invalid_idempotency_key",
        )
    return key


def fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    for part in (request.method or "", request.get_full_path()):
        digest.update(part.encode())
        digest.update(b"\0")
    digest.update(request.body)
    return digest.hexdigest()


def claim(*, workspace: Workspace, key: str, fingerprint: str) -> Claim | IdempotencyKey:
    """Claim the key for this request, or return the stored answer to replay.

    Raises KeyReused (another request used it) or KeyInFlight (it is running now).
    """
    now = timezone.now()
    keys = IdempotencyKey.objects.for_workspace(workspace)
    keys.filter(key=key, created_at__lt=now - TTL).delete()  # expired: the key is new again
    try:
        with transaction.atomic():
            row = keys.create(workspace=workspace, key=key, fingerprint=fingerprint)
        return Claim(row.pk)
    except IntegrityError:
        pass
    row = keys.filter(key=key).first()
    if row is None:  # released by a failed first request a moment ago
        raise KeyInFlight("A request with this Idempotency-Key is being processed; retry.")
    if row.fingerprint != fingerprint:
        raise KeyReused(
            "This Idempotency-Key was used with a different request (method, path or body).",
            fields={"Idempotency-Key": ["already used for another request"]},
        )
    if row.status_code is not None:
        return row
    stale = row.updated_at < now - IN_FLIGHT_LEASE
    if stale and keys.filter(pk=row.pk, status_code=None, updated_at=row.updated_at).update(
        updated_at=now
    ):
        return Claim(row.pk)
    raise KeyInFlight("A request with this Idempotency-Key is still being processed.")


def record(claim: Claim, response: HttpResponseBase) -> None:
    """Store the answer to replay (inside the view's transaction when it ran cleanly)."""
    content_type = ""
    if isinstance(response, Response):  # not rendered yet inside the view's transaction
        body = b"" if response.data is None else JSONRenderer().render(response.data)
        content_type = "application/json" if body else ""
    elif isinstance(response, HttpResponse):
        body, content_type = response.content, response.get("Content-Type", "")
    else:  # a streamed answer is replayed with its status but without its body
        body = b""
    IdempotencyKey.objects.filter(pk=claim.row_id).update(
        status_code=response.status_code, content_type=content_type, response_body=body
    )
    claim.done = True


def release(claim: Claim) -> None:
    """The request failed on our side: forget the claim so a retry runs it."""
    IdempotencyKey.objects.filter(pk=claim.row_id, status_code=None).delete()
    claim.done = True


def replay(row: IdempotencyKey) -> HttpResponse:
    response = HttpResponse(
        bytes(row.response_body), status=row.status_code, content_type=row.content_type or None
    )
    if not row.response_body:
        del response["Content-Type"]
    response[REPLAYED_HEADER] = "true"
    return response
