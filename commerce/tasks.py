"""Thin Celery wrappers around commerce services."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from workspaces.models import Workspace
from workspaces.scoping import dangerously_all_workspaces, workspace_task


@workspace_task(name="commerce.run", acks_late=True)
def commerce_run_task(workspace: Workspace, run_id: int) -> None:
    from .services import commerce_run_execute

    commerce_run_execute(workspace=workspace, run_id=run_id)


@workspace_task(name="commerce.feed_import", acks_late=True)
def feed_import_task(workspace: Workspace, import_id: int) -> None:
    from .services import feed_import_run

    feed_import_run(workspace=workspace, import_id=import_id)


@workspace_task(name="commerce.browse_abandonment", expires=5 * 60)
def browse_abandonment_task(workspace: Workspace) -> int:
    from .services import browse_abandonment_scan

    return browse_abandonment_scan(workspace=workspace, now=timezone.now())


def _workspaces_with_activity() -> list[int]:
    from .selectors import workspaces_with_activity

    with dangerously_all_workspaces(reason="beat: find the workspaces that have shoppers"):
        return workspaces_with_activity()


@shared_task(name="commerce.run_all")
def commerce_run_all() -> int:
    """Beat (nightly): one run per workspace with commerce activity."""
    from workspaces.errors import Conflict
    from workspaces.scoping import workspace_scope

    from .services import commerce_run_start

    started = 0
    for workspace_id in _workspaces_with_activity():
        with workspace_scope(workspace_id) as workspace:
            try:
                commerce_run_start(workspace=workspace, trigger="schedule")
                started += 1
            except Conflict:  # one already running: tonight's is that one
                continue
    return started


@shared_task(name="commerce.browse_abandonment_all")
def browse_abandonment_all() -> int:
    """Beat: look for abandoned browsing in every workspace with commerce activity."""
    ids = _workspaces_with_activity()
    for workspace_id in ids:
        browse_abandonment_task.delay(workspace_id)
    return len(ids)
