"""The scope a piece of code runs in: one workspace, all of them (the escape hatch) or none.

Kept apart from workspaces.scoping (which imports the models) so that the tenant managers
in workspaces.models and the database guard in workspaces.db can read it.

- `current()` is the Workspace in scope, `ALL_WORKSPACES` inside
  `scoping.dangerously_all_workspaces(...)`, or None.
- `in_task()` is true while a Celery task runs (set by the task_prerun/postrun signals in
  workspaces.signals); there a tenant model's default manager refuses to build a query
  without a workspace in scope (`WorkspaceScopeMissing`).
- `database_setting()` is what the database connection must carry for Row Level Security
  (workspaces.db applies it before each statement when it changed).
"""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from .models import Workspace


class _AllWorkspaces:
    def __repr__(self) -> str:
        return "ALL_WORKSPACES"


ALL_WORKSPACES: Final = _AllWorkspaces()

_scope: contextvars.ContextVar[Workspace | _AllWorkspaces | None] = contextvars.ContextVar(
    "tendril_scope", default=None
)
_in_task: contextvars.ContextVar[bool] = contextvars.ContextVar("tendril_in_task", default=False)


class WorkspaceScopeMissing(RuntimeError):
    """A tenant table was queried in a Celery task with no workspace in scope."""


def current() -> Workspace | _AllWorkspaces | None:
    return _scope.get()


def in_task() -> bool:
    return _in_task.get()


def enter(scope: Workspace | _AllWorkspaces | None) -> contextvars.Token:
    return _scope.set(scope)


def leave(token: contextvars.Token) -> None:
    _scope.reset(token)


def boundary_enter(*, task: bool) -> tuple[contextvars.Token, contextvars.Token]:
    """A request or task starts with no scope, whatever its caller had (eager tasks and the
    test client run inside the test's own context)."""
    return _scope.set(None), _in_task.set(task)


def boundary_leave(tokens: tuple[contextvars.Token, contextvars.Token]) -> None:
    scope_token, task_token = tokens
    _in_task.reset(task_token)
    _scope.reset(scope_token)


def require_scope(model: type) -> None:
    """Raise when a task is about to query `model` (a tenant model) with no scope open."""
    if _in_task.get() and _scope.get() is None:
        raise WorkspaceScopeMissing(
            f"{model.__name__} queried in a Celery task with no workspace in scope. "
            "Use @workspace_task / in_workspace(workspace_id, …), or — for work that really "
            "spans workspaces — `with dangerously_all_workspaces(reason=…)`."
        )


def database_setting() -> tuple[str, str]:
    """(tendril.workspace_id, tendril.all_workspaces) for the connection."""
    scope = _scope.get()
    if scope is None:
        return "", ""
    if scope is ALL_WORKSPACES:
        return "", "on"
    return str(scope.pk), ""  # type: ignore[union-attr]
