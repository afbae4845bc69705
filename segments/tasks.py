"""Thin Celery wrappers around segments services."""

from __future__ import annotations

from workspaces.models import Workspace
from workspaces.scoping import workspace_task


@workspace_task(name="segments.recompute")
def segment_recompute_task(workspace: Workspace, segment_id: int, filter_version: int) -> None:
    from .models import Segment
    from .services import segment_recompute

    segment = Segment.objects.for_workspace(workspace).filter(pk=segment_id).first()
    if segment is not None:
        segment_recompute(segment=segment, filter_version=filter_version)
