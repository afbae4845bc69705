"""The one place where each interface is scoped to a workspace.

- HTML views: `@workspace_view(...)` resolves `request.workspace` and `request.membership`
  from the logged-in user's current workspace and enforces the role's capabilities.
  Objects are then fetched with `scoped(request, Model)`, so another workspace's object is
  simply not found (404).
- Public HTML endpoints (login, hosted forms, unsubscribe links …) say so with
  `@public_view(reason)`; they authenticate by other means (signed tokens, form ids).
- API views: `workspaces.api.base` (DRF base classes) — see there.
- Celery: `workspace_scope(workspace_id)` opens a scope for task code.

`workspaces.checks` walks every routed URL and fails when a view is in none of these.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from .models import Membership, Workspace
from .roles import Capability

SCOPE_ATTR = "tendril_scope"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

V = TypeVar("V", bound=Callable[..., HttpResponse])
M = TypeVar("M", bound=models.Model)


def current_membership(request: HttpRequest) -> Membership | None:
    """The membership of the session's current workspace, falling back to the last used one."""
    user = request.user
    if not user.is_authenticated:
        return None
    memberships = Membership.objects.select_related("workspace").filter(user=user)
    wanted = request.session.get("workspace_id") or user.last_workspace_id  # type: ignore[union-attr]
    membership = memberships.filter(workspace_id=wanted).first() if wanted else None
    if membership is None:
        membership = memberships.order_by("created_at").first()
    if membership is not None:
        request.session["workspace_id"] = membership.workspace_id
    return membership


def workspace_view(
    view: V | None = None,
    *,
    read: Capability = Capability.VIEW,
    write: Capability | None = None,
) -> Any:
    """Require a logged-in member of the current workspace.

    `read` is needed for safe methods; `write` for POST/PUT/PATCH/DELETE. A view without
    `write` refuses unsafe methods, so a read-only page cannot be turned into a write by a
    crafted form.
    """

    def decorate(func: V) -> V:
        @wraps(func)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = current_membership(request)
            if membership is None:
                return redirect("workspace_create")
            needed = read if request.method in SAFE_METHODS else write
            if needed is None or not membership.can(needed):
                return render(
                    request,
                    "403.html",
                    {"needed": needed, "role": membership.get_role_display()},
                    status=403,
                )
            request.workspace = membership.workspace  # type: ignore[attr-defined]
            request.membership = membership  # type: ignore[attr-defined]
            return func(request, *args, **kwargs)

        setattr(wrapper, SCOPE_ATTR, "workspace")
        return wrapper  # type: ignore[return-value]

    return decorate(view) if view is not None else decorate


def login_only_view(view: V) -> V:
    """A page for a logged-in user that is not about one workspace (create or switch workspace)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    setattr(wrapper, SCOPE_ATTR, "user")
    return wrapper  # type: ignore[return-value]


def public_view(reason: str) -> Callable[[V], V]:
    """Mark a view as deliberately outside workspace scoping. `reason` is for the reader."""
    if not reason:
        raise ValueError("public_view needs a reason")

    def decorate(view: V) -> V:
        setattr(view, SCOPE_ATTR, "public")
        view.tendril_public_reason = reason  # type: ignore[attr-defined]
        return view

    return decorate


def scoped(request: HttpRequest, model: type[M]) -> models.QuerySet[M]:
    """The queryset of `model` that the current request may see."""
    workspace = getattr(request, "workspace", None)
    if workspace is None:
        raise RuntimeError("scoped() called outside @workspace_view")
    return model.objects.filter(workspace=workspace)  # type: ignore[attr-defined]


# --- Celery ------------------------------------------------------------------------------

_current_workspace: contextvars.ContextVar[Workspace | None] = contextvars.ContextVar(
    "tendril_workspace", default=None
)


@contextmanager
def workspace_scope(workspace_id: int) -> Iterator[Workspace]:
    """Run task code inside one workspace. Raises Workspace.DoesNotExist for a deleted one."""
    workspace = Workspace.objects.get(pk=workspace_id)
    token = _current_workspace.set(workspace)
    try:
        yield workspace
    finally:
        _current_workspace.reset(token)


def in_workspace(workspace_id: int, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """`func(workspace, *args, **kwargs)` inside the workspace's scope; None if it is gone."""
    try:
        with workspace_scope(workspace_id) as workspace:
            return func(workspace, *args, **kwargs)
    except Workspace.DoesNotExist:
        return None


def current_workspace() -> Workspace:
    workspace = _current_workspace.get()
    if workspace is None:
        raise RuntimeError("No workspace scope is open (use workspace_scope).")
    return workspace


def workspace_task(*task_args: Any, **task_options: Any) -> Callable[[Callable[..., Any]], Any]:
    """A Celery task whose first argument is a workspace id; the body runs inside its scope.

        @workspace_task()
        def contacts_import_run(workspace, import_id): ...

    is called as `contacts_import_run.delay(workspace.id, import_id)` and receives the
    Workspace. A workspace deleted in the meantime makes the task a no-op.
    """
    from celery import shared_task

    def decorate(func: Callable[..., Any]) -> Any:
        @wraps(func)
        def run(workspace_id: int, *args: Any, **kwargs: Any) -> Any:
            return in_workspace(workspace_id, func, *args, **kwargs)

        return shared_task(*task_args, **task_options)(run)

    return decorate
