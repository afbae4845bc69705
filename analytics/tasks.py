"""Thin Celery wrappers around analytics services."""

from __future__ import annotations

from celery import shared_task

from workspaces.models import Workspace
from workspaces.scoping import dangerously_all_workspaces, workspace_task


@shared_task(name="analytics.rollups_refresh")
def rollups_refresh_task() -> int:
    """Recount dirty hours (beat calls this); a backlog larger than one pass goes on at once
    in a new task rather than waiting for the next tick."""
    from .rollups import rollups_refresh

    with dangerously_all_workspaces(reason="beat: recount dirty hours of every workspace"):
        result = rollups_refresh()
    if result.remaining:
        rollups_refresh_task.delay()
    return result.hours


@workspace_task(name="analytics.attribution_recompute", acks_late=True)
def attribution_recompute_task(workspace: Workspace, generation: int) -> bool:
    """Credit every conversion under the settings pending as `generation` (resumable)."""
    from .attribution.recompute import attribution_recompute_run

    return attribution_recompute_run(workspace=workspace, generation=generation)
