"""The one place where each interface is scoped to a workspace.

- HTML views: `@workspace_view(...)` resolves `request.workspace` and `request.membership`
  from the logged-in user's current workspace and enforces the role's capabilities.
  Objects are then fetched with `scoped(request, Model)`, so another workspace's object is
  simply not found (404).
- Public HTML endpoints (login, hosted forms, unsubscribe links …) say so with
  `@public_view(reason)`; they authenticate by other means (signed tokens, form ids). Those
  that act on one workspace's rows name how to find it, `@public_view(reason, workspace=…)`,
  and run in its scope.
- API views: `workspaces.api.base` (DRF base classes) — see there.
- Celery: `@workspace_task` / `in_workspace(workspace_id, …)` / `workspace_scope(…)` open a
  scope for task code. In a task, a tenant model's manager refuses to query without one
  (`WorkspaceScopeMissing`).
- Work that really spans workspaces (the scheduler claiming every workspace's due runs,
  beat sweeps, the API-key lookup before the workspace is known …) says so with
  `with dangerously_all_workspaces(reason="…")` — rare, grep-able, each with its reason.

Each scope also sets the database connection's `tendril.workspace_id` (or
`tendril.all_workspaces`), which PostgreSQL Row Level Security checks on every tenant
table (workspaces.db, docs/security.md): the second wall behind these querysets.

`workspaces.checks` walks every routed URL and fails when a view is in none of these.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from . import scope_state
from .models import Membership, Workspace
from .roles import Capability
from .scope_state import ALL_WORKSPACES, WorkspaceScopeMissing

__all__ = ["ALL_WORKSPACES", "WorkspaceScopeMissing"]

SCOPE_ATTR = "tendril_scope"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

V = TypeVar("V", bound=Callable[..., HttpResponse])
M = TypeVar("M", bound=models.Model)


def current_membership(request: HttpRequest) -> Membership | None:
    """The membership of the session's current workspace, falling back to the last used one."""
    user = request.user
    if not user.is_authenticated:
        return None
    # The user's memberships span workspaces: this lookup decides which one is in scope.
    with dangerously_all_workspaces(reason="find the workspace a logged-in user is in"):
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
            with workspace_scope(membership.workspace):
                response = func(request, *args, **kwargs)
            if response.streaming:  # its body is read after the view returns
                response.streaming_content = _in_scope(  # type: ignore[attr-defined]
                    membership.workspace,
                    response.streaming_content,  # type: ignore[attr-defined]
                )
            return response

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


def public_view(
    reason: str, *, workspace: Callable[..., int | None] | None = None
) -> Callable[[V], V]:
    """Mark a view as deliberately outside login-based scoping. `reason` is for the reader.

    `workspace` is for a public view that acts on one workspace's rows, found from what the
    request carries instead of a login — a signed token, an id in a signed URL, a form's
    unguessable public id. Called with the view's arguments before the view, it returns the
    id of the workspace the request vouches for, or None (a bad or altered token); the view
    then runs inside that workspace's scope, so Row Level Security shows it that workspace's
    rows and no other's. With None the view runs with no scope: it reads no tenant row and
    answers as for a broken link. A resolver reads no tenant table, except for one narrow
    `dangerously_all_workspaces` lookup by an unguessable id.
    """
    if not reason:
        raise ValueError("public_view needs a reason")

    def decorate(view: V) -> V:
        target = view if workspace is None else _in_resolved_scope(view, workspace)
        setattr(target, SCOPE_ATTR, "public")
        target.tendril_public_reason = reason  # type: ignore[attr-defined]
        return target

    return decorate


def _in_resolved_scope(view: V, resolve: Callable[..., int | None]) -> V:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        workspace_id = resolve(request, *args, **kwargs)
        found = Workspace.objects.filter(pk=workspace_id).first() if workspace_id else None
        if found is None:
            return view(request, *args, **kwargs)
        with workspace_scope(found):
            return view(request, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def scoped(request: HttpRequest, model: type[M]) -> models.QuerySet[M]:
    """The queryset of `model` that the current request may see."""
    workspace = getattr(request, "workspace", None)
    if workspace is None:
        raise RuntimeError("scoped() called outside @workspace_view")
    return model.objects.filter(workspace=workspace)  # type: ignore[attr-defined]


# --- Scopes (Celery tasks, requests, system work) -------------------------------------


@contextmanager
def workspace_scope(workspace: Workspace | int) -> Iterator[Workspace]:
    """Run code inside one workspace. Raises Workspace.DoesNotExist for a deleted one."""
    if not isinstance(workspace, Workspace):
        workspace = Workspace.objects.get(pk=workspace)
    token = scope_state.enter(workspace)
    try:
        yield workspace
    finally:
        scope_state.leave(token)


@contextmanager
def dangerously_all_workspaces(*, reason: str) -> Iterator[None]:
    """The escape hatch: code inside sees every workspace's rows (managers and RLS alike).

    Only for system work that spans workspaces by nature; `reason` says why, for the reader
    (and for grep). Scopes opened inside (in_workspace …) narrow it again.
    """
    if not reason:
        raise ValueError("dangerously_all_workspaces needs a reason")
    token = scope_state.enter(ALL_WORKSPACES)
    try:
        yield
    finally:
        scope_state.leave(token)


def _in_scope(workspace: Workspace, content: Iterable[bytes]) -> Iterator[bytes]:
    with workspace_scope(workspace):
        yield from content


def in_workspace(workspace_id: int, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """`func(workspace, *args, **kwargs)` inside the workspace's scope; None if it is gone."""
    try:
        with workspace_scope(workspace_id) as workspace:
            return func(workspace, *args, **kwargs)
    except Workspace.DoesNotExist:
        return None


def current_workspace() -> Workspace:
    scope = scope_state.current()
    if not isinstance(scope, Workspace):
        raise WorkspaceScopeMissing("No workspace scope is open (use workspace_scope).")
    return scope


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
