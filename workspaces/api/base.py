"""The DRF base classes every management-API view derives from.

`WorkspaceViewSet` owns `get_queryset`, `get_object` and the workspace on create, as
PostHog's routing mixin does: subclasses narrow the queryset in `safely_get_queryset`
and cannot override the scoping methods (a subclass that tries fails at import).
The rare view that must see across workspaces would have to be named `dangerously_…`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from django.db import models, transaction
from django.http import HttpResponseBase
from rest_framework import mixins, viewsets
from rest_framework.views import APIView

from workspaces import scope_state
from workspaces.api import idempotency
from workspaces.api.authentication import SecretKeyAuthentication, SessionMemberAuthentication
from workspaces.api.permissions import HasWorkspace
from workspaces.errors import ValidationFailed
from workspaces.models import IdempotencyKey, Workspace
from workspaces.roles import Capability
from workspaces.scoping import SCOPE_ATTR

_SEALED = ("get_queryset", "get_object")


class _Sealed:
    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in _SEALED:
            if name in cls.__dict__ and not getattr(cls, "dangerously_owns_scoping", False):
                raise TypeError(
                    f"{cls.__name__} overrides {name}(); narrow the queryset in "
                    "safely_get_queryset() instead, so workspace scoping stays in one place."
                )


class _Replay(Exception):
    def __init__(self, row: IdempotencyKey):
        self.row = row


class WorkspaceAPIView(_Sealed, APIView):
    """An API endpoint that is not a model viewset (reports, counts, enrolment …).

    Also the one home of `Idempotency-Key` for /api/v1/ POSTs (workspaces.api.idempotency):
    after authentication, permissions and throttling, the key is claimed or its stored
    answer replayed; the view then runs in one transaction that stores its answer.
    """

    dangerously_owns_scoping = True
    authentication_classes = [SecretKeyAuthentication, SessionMemberAuthentication]
    permission_classes = [HasWorkspace]
    read_capability: ClassVar[Capability] = Capability.VIEW
    write_capability: ClassVar[Capability] = Capability.EDIT_CONTACTS
    # Every body of the management API is a JSON object: a list, string or number parses
    # as JSON too, and views reading `request.data.get(...)` answered 500. No string in it
    # or in the query string holds a NUL character (PostgreSQL text and jsonb cannot).
    # Views that read the raw body themselves (ingestion, which checks the same on its own)
    # turn the body checks off.
    object_bodies: ClassVar[bool] = True

    @property
    def workspace(self) -> Workspace:
        return self.request.workspace  # type: ignore[attr-defined,no-any-return]

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        # Authentication opens the key's workspace scope (_bind_workspace); it ends here.
        token = scope_state.enter(None)
        self._idempotency: idempotency.Claim | None = None
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            claim = self._idempotency
            if claim is not None and not claim.done:  # an unhandled error: let a retry run
                idempotency.release(claim)
            scope_state.leave(token)

    def initial(self, request: Any, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        _refuse_unstorable_input(self, request)  # a 400 before any key is claimed
        request.idempotency_key = None
        if not idempotency.applies_to(request._request):
            return
        key = request.idempotency_key = idempotency.key_from(request._request)
        if key is None:
            return
        outcome = idempotency.claim(
            workspace=self.workspace,
            key=key,
            fingerprint=idempotency.fingerprint(request._request),
        )
        if isinstance(outcome, IdempotencyKey):
            raise _Replay(outcome)
        self._idempotency = outcome
        name = request.method.lower()
        handler = getattr(self, name, None)
        if handler is not None:
            setattr(self, name, self._answered_once(handler, outcome))

    @staticmethod
    def _answered_once(handler: Any, claim: idempotency.Claim) -> Any:
        def run(request: Any, *args: Any, **kwargs: Any) -> Any:
            # The writes and the stored answer commit together (or neither does).
            try:
                with transaction.atomic():
                    response = handler(request, *args, **kwargs)
                    if response.status_code < 500:
                        idempotency.record(claim, response)
            except BaseException:
                claim.done = False  # nothing was stored: finalize_response decides
                raise
            return response

        return run

    def handle_exception(self, exc: Exception) -> Any:
        if isinstance(exc, _Replay):
            return idempotency.replay(exc.row)
        return super().handle_exception(exc)

    def finalize_response(  # type: ignore[override]  # a replay is a plain HttpResponse
        self, request: Any, response: Any, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        response = super().finalize_response(request, response, *args, **kwargs)
        claim = getattr(self, "_idempotency", None)
        if claim is not None and not claim.done:
            # The view raised: its transaction rolled back. A 4xx is the answer (Stripe
            # replays it too); a 5xx releases the key so that a retry runs again.
            if response.status_code >= 500:
                idempotency.release(claim)
            else:
                idempotency.record(claim, response)
        return response


def _refuse_unstorable_input(self: WorkspaceAPIView, request: Any) -> None:
    message = "contains a NUL character (\\u0000), which cannot be stored"
    for name, values in request.query_params.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            where = name.replace("\x00", "") or "query"
            raise ValidationFailed(f"{where}: {message}.", fields={where: message})
    if not (self.object_bodies and request.method in ("POST", "PUT", "PATCH")):
        return
    if not isinstance(request.data, Mapping):
        raise ValidationFailed(
            "body: must be a JSON object.", fields={"body": "must be a JSON object"}
        )
    where = _nul_at(request.data, "")
    if where is not None:
        raise ValidationFailed(f"{where}: {message}.", fields={where: message})


def _nul_at(value: Any, path: str) -> str | None:
    """The path of the first string (or key) holding a NUL character, or None."""
    if isinstance(value, str):
        return (path or "body") if "\x00" in value else None
    if isinstance(value, Mapping):
        pairs: Any = value.items()
    elif isinstance(value, list):
        pairs = ((f"[{i}]", item) for i, item in enumerate(value))
    else:
        return None
    for key, item in pairs:
        name = str(key)
        if "\x00" in name:
            return path or "body"
        child = f"{path}{name}" if name.startswith("[") else f"{path}.{name}" if path else name
        found = _nul_at(item, child)
        if found is not None:
            return found
    return None


setattr(WorkspaceAPIView, SCOPE_ATTR, "workspace")
# Subclasses below are also owners of the sealed methods; user classes are not.
WorkspaceAPIView.dangerously_owns_scoping = False  # type: ignore[misc]


class WorkspaceViewSet(WorkspaceAPIView, viewsets.GenericViewSet):
    """Base of every model viewset: sees only the request's workspace."""

    dangerously_owns_scoping = True
    queryset: ClassVar[models.QuerySet[Any]]  # type: ignore[misc]

    def get_queryset(self) -> models.QuerySet[Any]:
        queryset = super().get_queryset().filter(workspace=self.workspace)
        return self.safely_get_queryset(queryset)

    def safely_get_queryset(self, queryset: models.QuerySet[Any]) -> models.QuerySet[Any]:
        return queryset

    def perform_create(self, serializer: Any) -> None:
        serializer.save(workspace=self.workspace)

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        context["workspace"] = getattr(self.request, "workspace", None)
        return context


WorkspaceViewSet.dangerously_owns_scoping = False  # type: ignore[misc]


class WorkspaceModelViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    mixins.ListModelMixin,
    WorkspaceViewSet,
):
    pass


class WorkspaceReadOnlyViewSet(mixins.RetrieveModelMixin, mixins.ListModelMixin, WorkspaceViewSet):
    pass
