"""Thin Celery wrappers around the workflow engine."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import OperationalError

from workspaces.models import Workspace
from workspaces.scoping import dangerously_all_workspaces, workspace_task


@shared_task(name="workflows.scheduler_tick", ignore_result=True)
def scheduler_tick() -> int:
    """Claim due runs (across workspaces: claiming is global) and dispatch them."""
    from .engine.scheduler import tick

    with dangerously_all_workspaces(reason="beat: claim due runs of every workspace"):
        return tick()


@workspace_task(
    name="workflows.execute_runs",
    # A deadlock or a dropped connection rolls the chunk back; its leases still hold.
    autoretry_for=(OperationalError,),
    retry_backoff=2,
    max_retries=5,
)
def execute_runs(workspace: Workspace, claims: list[list[Any]]) -> int:
    from .engine.runner import runs_execute

    return runs_execute(workspace=workspace, claims=claims)


@workspace_task(name="workflows.snapshot_enrol", autoretry_for=(OperationalError,), max_retries=5)
def snapshot_enrol(workspace: Workspace, workflow_id: int) -> int:
    from .runs.enrolment import segment_snapshot_enrol

    return segment_snapshot_enrol(workspace=workspace, workflow_id=workflow_id)


@shared_task(name="workflows.anniversaries_sweep", ignore_result=True)
def anniversaries_sweep() -> None:
    """Fan out the anniversary check to each workspace that has such a trigger."""
    from .runs.enrolment import workspaces_with_anniversaries

    with dangerously_all_workspaces(reason="beat: find workspaces with anniversary triggers"):
        workspace_ids = workspaces_with_anniversaries()
    for workspace_id in workspace_ids:
        anniversaries_enrol.delay(workspace_id)


@workspace_task(
    name="workflows.anniversaries_enrol", autoretry_for=(OperationalError,), max_retries=3
)
def anniversaries_enrol(workspace: Workspace) -> int:
    from .runs.enrolment import anniversaries_enrol as enrol

    return enrol(workspace=workspace)
