"""Thin Celery wrappers around contacts services."""

from __future__ import annotations

from workspaces.models import Workspace
from workspaces.scoping import workspace_task


@workspace_task(
    name="contacts.process_events", autoretry_for=(Exception,), retry_backoff=True, max_retries=5
)
def process_events(
    workspace: Workspace, event_ids: list[int], changed_fields: dict[str, list[str]] | None = None
) -> None:
    from .services import events_process

    events_process(workspace=workspace, event_ids=event_ids, changed_fields=changed_fields or {})
