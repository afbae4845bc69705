"""API authentication by workspace key, or by the browser's session.

Secret keys (`Authorization: Bearer tds_…`) open the management API; write keys
(HTTP Basic username, as Segment sends it) open only the ingestion endpoints.
Both resolve `request.workspace`; an unknown or revoked key is a 401.

The browser islands (the workflow builder) call the management API from the logged-in
page: `SessionMemberAuthentication` resolves the workspace from the session exactly as
the HTML views do (`current_membership`), acts with the member's role, and requires
Django's CSRF token on unsafe methods. A request with an Authorization header is always
judged by its key, never by a session that happens to ride along.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from django.http import HttpRequest
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, SessionAuthentication

from workspaces import scope_state
from workspaces.models import ApiKey, Membership, Workspace
from workspaces.roles import Capability
from workspaces.selectors import api_key_resolve

# A secret key acts for an integration: everything except managing people and keys.
SECRET_KEY_CAPABILITIES = frozenset(Capability) - {Capability.MANAGE_WORKSPACE}


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
        key = api_key_resolve(raw=raw.strip())
        if key is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked API key.", code="invalid_key")
        if key.kind != ApiKey.Kind.SECRET:
            raise exceptions.AuthenticationFailed(
                "This is a write key: it can only send events to /v1/. "
                "The management API needs a secret key.",
                code="write_key_not_allowed",
            )
        _bind_workspace(request, key.workspace)
        return ApiClient(api_key=key, workspace=key.workspace), key

    def authenticate_header(self, request: HttpRequest) -> str:
        return 'Bearer realm="tendril"'


class WriteKeyAuthentication(BaseAuthentication):
    """Segment's scheme: the write key is the HTTP Basic username (password empty).

    Segment also accepts `writeKey` in the JSON body; views that parse the body call
    `authenticate_write_key(raw)` for that case. Secret keys are accepted as well,
    since a server that holds one may send events with it.
    """

    def authenticate(self, request: HttpRequest) -> tuple[ApiClient, ApiKey] | None:  # type: ignore[override]
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, payload = header.partition(" ")
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(payload.strip()).decode()
            except (ValueError, UnicodeDecodeError):
                raise exceptions.AuthenticationFailed(
                    "The Basic authorization header is not valid base64.",
                    code="bad_authorization_header",
                )
            raw = decoded.partition(":")[0]
        elif scheme.lower() == "bearer":
            raw = payload.strip()
        else:
            raise exceptions.AuthenticationFailed(
                "Send the write key as the HTTP Basic username.", code="bad_authorization_header"
            )
        return authenticate_write_key(request, raw)

    def authenticate_header(self, request: HttpRequest) -> str:
        return 'Basic realm="tendril"'


def authenticate_write_key(request: HttpRequest, raw: str) -> tuple[ApiClient, ApiKey]:
    key = api_key_resolve(raw=raw)
    if key is None:
        raise exceptions.AuthenticationFailed("Unknown or revoked write key.", code="invalid_key")
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
