"""Thin Celery wrappers around segments services."""

from __future__ import annotations

from celery import shared_task

from workspaces.models import Workspace
from workspaces.scoping import dangerously_all_workspaces, workspace_task


@workspace_task(name="segments.recompute")
def segment_recompute_task(workspace: Workspace, segment_id: int, filter_version: int) -> None:
    from .models import Segment
    from .services import segment_recompute

    segment = Segment.objects.for_workspace(workspace).filter(pk=segment_id).first()
    if segment is not None:
        segment_recompute(segment=segment, filter_version=filter_version)


@workspace_task(name="segments.recompute_drifting")
def segments_recompute_drifting_task(workspace: Workspace) -> None:
    from .services import segments_recompute_drifting

    segments_recompute_drifting(workspace=workspace)


@shared_task(name="segments.recompute_drifting_all")
def segments_recompute_drifting_all() -> int:
    """Fan out: one task per workspace that has segments (beat calls this)."""
    from .models import Segment

    with dangerously_all_workspaces(reason="beat: find the workspaces that have segments"):
        workspace_ids = list(
            Segment.objects.order_by().values_list("workspace_id", flat=True).distinct()
        )
    for workspace_id in workspace_ids:
        segments_recompute_drifting_task.delay(workspace_id)
    return len(workspace_ids)
