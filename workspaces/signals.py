"""Scope boundaries: every request and every Celery task starts with no workspace in scope.

Without them a scope could outlive its request in a reused worker thread, and eager tasks
(or the test client) would run inside their caller's scope — hiding a task that forgot to
open its own. The task flag makes tenant managers refuse unscoped queries in tasks.
"""

from __future__ import annotations

import contextvars
from typing import Any

from celery.signals import task_postrun, task_prerun
from django.core.signals import request_finished, request_started

from . import scope_state

_Tokens = tuple[contextvars.Token, contextvars.Token]
_requests: contextvars.ContextVar[tuple[_Tokens, ...]] = contextvars.ContextVar(
    "tendril_request_scopes", default=()
)
_tasks: dict[str, _Tokens] = {}


def _request_started(**_: Any) -> None:
    _requests.set((*_requests.get(), scope_state.boundary_enter(task=False)))


def _request_finished(**_: Any) -> None:
    stack = _requests.get()
    if stack:
        _requests.set(stack[:-1])
        _leave(stack[-1])


def _task_started(task_id: str | None = None, **_: Any) -> None:
    if task_id is not None:
        _tasks[task_id] = scope_state.boundary_enter(task=True)


def _task_finished(task_id: str | None = None, **_: Any) -> None:
    tokens = _tasks.pop(task_id, None) if task_id is not None else None
    if tokens is not None:
        _leave(tokens)


def _leave(tokens: _Tokens) -> None:
    try:
        scope_state.boundary_leave(tokens)
    except ValueError:  # entered in another context (ASGI thread hops): start clean instead
        scope_state.boundary_enter(task=False)


def connect() -> None:
    request_started.connect(_request_started, dispatch_uid="tendril_scope_request_started")
    request_finished.connect(_request_finished, dispatch_uid="tendril_scope_request_finished")
    task_prerun.connect(_task_started, dispatch_uid="tendril_scope_task_started", weak=False)
    task_postrun.connect(_task_finished, dispatch_uid="tendril_scope_task_finished", weak=False)
