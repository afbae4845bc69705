"""workflow.entered / workflow.exited on the contact's event stream (their timeline, and
what segments, scoring and analytics read).

Written in bulk with the run changes they describe (same transaction), then handed to the
events pipeline like any other platform event. The message id is derived from the run, so
each run enters and exits the stream exactly once: a second record of it is skipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from contacts.services import NewEvent, events_enqueue_processing, events_record
from workspaces.models import Workspace

from ..integrations import WORKFLOW_ENTERED, WORKFLOW_EXITED
from ..models import WorkflowRun


def _event(run: WorkflowRun, name: str, now: datetime, workflow_name: str) -> NewEvent:
    properties = {
        "workflow_id": run.workflow_id,
        "workflow": workflow_name,
        "run_id": run.pk,
        "version_id": run.version_id,
    }
    if name == WORKFLOW_EXITED:
        properties.update(status=run.status, node=run.current_node)
        if run.error:
            properties["error"] = run.error[:500]
    return NewEvent(
        contact_id=run.contact_id,
        name=name,
        properties=properties,
        message_id=f"{name}:{run.pk}",
        timestamp=now,
    )


def run_events_record(
    *,
    workspace: Workspace,
    entered: Iterable[WorkflowRun] = (),
    exited: Iterable[WorkflowRun] = (),
    names: dict[int, str],
    now: datetime,
) -> None:
    events = [_event(run, WORKFLOW_ENTERED, now, names.get(run.workflow_id, "")) for run in entered]
    events += [_event(run, WORKFLOW_EXITED, now, names.get(run.workflow_id, "")) for run in exited]
    if not events:
        return
    ids = events_record(workspace=workspace, events=events, received_at=now)
    events_enqueue_processing(workspace=workspace, event_ids=[pk for pk in ids if pk])
