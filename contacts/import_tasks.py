"""Celery task of CSV imports (a module of its own: contacts/tasks.py belongs to ingestion).

Imported by ContactsConfig.ready() so workers register it without autodiscovery."""

from __future__ import annotations

from workspaces.models import Workspace
from workspaces.scoping import workspace_task


@workspace_task(name="contacts.import_run", acks_late=True)
def contacts_import_run(workspace: Workspace, import_id: int) -> None:
    from contacts.services.imports import import_run

    import_run(workspace=workspace, import_id=import_id)
