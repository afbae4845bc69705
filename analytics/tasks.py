"""Thin Celery wrappers around analytics services."""

from __future__ import annotations

from celery import shared_task

from workspaces.scoping import dangerously_all_workspaces


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
