"""API authentication by workspace key, or by the browser's session.

Secret keys (`Authorization: Bearer tds_…`) open the management API; write keys
(HTTP Basic username, as Segment sends it) open only the ingestion endpoints.
Both resolve `request.workspace`; an unknown or revoked key is a 401.

The browser islands (the workflow builder) call the management API from the logged-in
page: `SessionMemberAuthentication` resolves the workspace from the session exactly as
the HTML views do (`current_membership`), acts with the member's role, and requires
Django's CSRF token on unsafe methods. A request with an Authorization header is always
judged by its key, never by a session that happens to ride along.

Resolved keys are cached in Redis (next to the rate-limit counters) for
KEY_CACHE_SECONDS, so a request costs a Redis GET rather than a database query — for
ingestion the GET rides in the same round trip as the write key's rate limit. Saving or
deleting a key (revoking it) deletes its cache entry, at once and again after the commit,
so **a revoked key is refused by every process from the next request**.

Failed authentications count against the client's address (`throttling.authfail`): past
the limit, requests whose key is not already cached are answered 429 before any lookup.
"""

from __future__ import annotations

import base64
import pickle  # noqa: S403 — only our own Redis, written by this module
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, SessionAuthentication

from workspaces import scope_state, throttling
from workspaces.client_ip import client_ip
from workspaces.models import ApiKey, Membership, Workspace
from workspaces.roles import Capability
from workspaces.selectors import api_key_resolve

# A secret key acts for an integration: everything except managing people and keys.
SECRET_KEY_CAPABILITIES = frozenset(Capability) - {Capability.MANAGE_WORKSPACE}
# An admin key (ApiKey.can_manage_workspace) also manages members, invitations, settings.
ADMIN_KEY_CAPABILITIES = frozenset(Capability)
# As long as selectors.api_key_resolve's last_used_at granularity: a miss refreshes it.
KEY_CACHE_SECONDS = 60
MAX_KEY_LENGTH = 200


@dataclass
class ApiClient:
    """The principal behind an API request: a key, not a person."""

    api_key: ApiKey
    workspace: Workspace
    capabilities: frozenset[Capability] = field(default=SECRET_KEY_CAPABILITIES)
    is_authenticated: bool = True
    is_active: bool = True
    pk: None = None

    def can(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def __str__(self) -> str:
        return f"API key {self.api_key.prefix}"


# --- The key cache ---------------------------------------------------------------------------


def _cache_key(key_hash: str) -> str:
    return f"{throttling.PREFIX}:key:{key_hash}"


def api_key_forget(key_hash: str) -> None:
    throttling.client().delete(_cache_key(key_hash))


@receiver(post_save, sender=ApiKey)
@receiver(post_delete, sender=ApiKey)
def _forget_saved_key(sender: Any, instance: ApiKey, **kwargs: Any) -> None:
    # Now, and after the commit: a request that read the row before the commit must not
    # leave the old (unrevoked) key in the cache.
    api_key_forget(instance.key_hash)
    transaction.on_commit(lambda: api_key_forget(instance.key_hash))


def api_key_authenticate(request: HttpRequest, raw: str, *, ingest: bool = False) -> ApiKey:
    """The active key for `raw`, or AuthenticationFailed (401) / Throttled (429).

    `ingest`: count the request against the write key's ingestion limit, in the same Redis
    round trip as the cache lookup.
    """
    unknown = "Unknown or revoked write key." if ingest else "Unknown or revoked API key."
    if not raw or len(raw) > MAX_KEY_LENGTH:
        _failed(request, unknown)
    key_hash = ApiKey.hash(raw)
    if ingest:
        getattr(request, "_request", request).tendril_rate_limited = True
    if ingest and (ingest_rate := _ingest_rate()):
        limits = throttling.rate(ingest_rate)
        retry_after, cached = throttling.hit_and_get(
            limits, ("ingest", key_hash), _cache_key(key_hash)
        )
    else:
        retry_after, cached = None, _key_cache_get(key_hash)
    key = _unpickle(cached) if cached else _resolve_uncached(request, raw, key_hash, unknown)
    if retry_after is not None:
        raise exceptions.Throttled(
            wait=retry_after, detail="Too many requests for this write key; slow down."
        )
    return key


def _unpickle(cached: bytes) -> ApiKey:
    return pickle.loads(cached)  # type: ignore[no-any-return]  # noqa: S301


def _resolve_uncached(request: HttpRequest, raw: str, key_hash: str, unknown: str) -> ApiKey:
    blocked = throttling.auth_failures_blocked(client_ip(request))
    if blocked is not None:
        raise exceptions.Throttled(
            wait=blocked, detail="Too many failed authentications from your address."
        )
    key = api_key_resolve(raw=raw)
    if key is None:
        _failed(request, unknown)
    _key_cache_set(key_hash, key)
    return key


# Without Redis the key is looked up in PostgreSQL on every request (docs/ingestion.md).
@throttling.fail_open(None)
def _key_cache_get(key_hash: str) -> bytes | None:
    return throttling.client().get(_cache_key(key_hash))  # type: ignore[no-any-return]


@throttling.fail_open(None)
def _key_cache_set(key_hash: str, key: ApiKey) -> None:
    throttling.client().set(_cache_key(key_hash), pickle.dumps(key), ex=KEY_CACHE_SECONDS)


def _failed(request: HttpRequest, message: str) -> Any:
    retry_after = throttling.auth_failure_record(client_ip(request))
    if retry_after is not None:
        raise exceptions.Throttled(
            wait=retry_after, detail="Too many failed authentications from your address."
        )
    raise exceptions.AuthenticationFailed(message, code="invalid_key")


def _ingest_rate() -> str:
    """INGEST_RATE_LIMIT, or "" when it is `off` (no per-key limit on ingestion)."""
    from django.conf import settings

    rate = str(settings.INGEST_RATE_LIMIT or "").strip()
    return "" if rate.lower() in ("", "off") else rate


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


# --- DRF authentication classes -----------------------------------------------------------------


@dataclass
class SessionMember:
    """The principal behind a browser call: a logged-in member, acting with their role."""

    membership: Membership
    workspace: Workspace
    is_authenticated: bool = True
    is_active: bool = True

    @property
    def pk(self) -> int:
        return self.membership.user_id

    def can(self, capability: Capability) -> bool:
        return self.membership.can(capability)

    def __str__(self) -> str:
        return f"{self.membership.user} (session)"


class SessionMemberAuthentication(SessionAuthentication):
    """Same-origin browser calls: the session's current workspace, the member's role, CSRF."""

    def authenticate(self, request: HttpRequest) -> tuple[SessionMember, None] | None:  # type: ignore[override]
        from workspaces.scoping import current_membership

        if request.META.get("HTTP_AUTHORIZATION"):
            return None  # a key was sent: SecretKeyAuthentication has the last word
        inner = getattr(request, "_request", request)
        user = getattr(inner, "user", None)
        if user is None or not user.is_active or not user.is_authenticated:
            return None
        self.enforce_csrf(request)
        membership = current_membership(inner)
        if membership is None:
            return None
        _bind_workspace(request, membership.workspace)
        return SessionMember(membership=membership, workspace=membership.workspace), None


class SecretKeyAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: HttpRequest) -> tuple[ApiClient, ApiKey] | None:  # type: ignore[override]
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            raise exceptions.AuthenticationFailed(
                "Use 'Authorization: Bearer <secret key>'.", code="bad_authorization_header"
            )
        key = api_key_authenticate(request, raw.strip())
        if key.kind != ApiKey.Kind.SECRET:
            raise exceptions.AuthenticationFailed(
                "This is a write key: it can only send events to /v1/. "
                "The management API needs a secret key.",
                code="write_key_not_allowed",
            )
        _bind_workspace(request, key.workspace)
        capabilities = (
            ADMIN_KEY_CAPABILITIES if key.can_manage_workspace else SECRET_KEY_CAPABILITIES
        )
        return ApiClient(api_key=key, workspace=key.workspace, capabilities=capabilities), key

    def authenticate_header(self, request: HttpRequest) -> str:
        return 'Bearer realm="tendril"'


class WriteKeyAuthentication(BaseAuthentication):
    """Segment's scheme: the write key is the HTTP Basic username (password empty).

    Secret keys are accepted as well, since a server that holds one may send events with
    it. Every request counts against the key's ingestion rate limit.
    """

    def authenticate(self, request: HttpRequest) -> tuple[ApiClient, ApiKey] | None:  # type: ignore[override]
        raw = key_from_header(request.META.get("HTTP_AUTHORIZATION", ""))
        if raw is None:
            return None
        return authenticate_write_key(request, raw)

    def authenticate_header(self, request: HttpRequest) -> str:
        return 'Basic realm="tendril"'


def authenticate_write_key(request: HttpRequest, raw: str) -> tuple[ApiClient, ApiKey]:
    key = api_key_authenticate(request, raw, ingest=True)
    _bind_workspace(request, key.workspace)
    return ApiClient(api_key=key, workspace=key.workspace, capabilities=frozenset()), key


def _bind_workspace(request: HttpRequest, workspace: Workspace) -> None:
    """Put the workspace on DRF's request and on the Django request it wraps, and open its
    scope for the rest of the request (WorkspaceAPIView.dispatch closes it)."""
    scope_state.enter(workspace)
    request.workspace = workspace  # type: ignore[attr-defined]
    inner = getattr(request, "_request", None)
    if inner is not None:
        inner.workspace = workspace
