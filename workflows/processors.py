"""The workflows step of the events pipeline (contacts.hooks, order 30, after scoring and
segments, so score.changed and segment.entered of the same batch are seen).

For each batch: 1. enrol contacts whose events / profile changes fire a trigger; 2. wake runs
waiting for one of these events (wait.until_event) or for a condition on a contact that just
changed (wait.until_condition); 3. convert runs whose contact now meets the workflow's goal,
and move runs to a goal node whose filter they now meet. Idempotent: enrolment keys come
from the event ids, and waking or converting a run twice changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db import transaction

from contacts.hooks import ORDER_WORKFLOWS, IngestedBatch, on_events_ingested
from contacts.models import Contact, Event
from workspaces.models import Workspace

from .conditions import contact_value, properties_match
from .engine import clock
from .engine.effects import LiveEffects
from .engine.engine import finish
from .engine.scheduler import dispatch_after_commit
from .engine.stream import run_events_record
from .graph.graph import graph_for_version
from .models import LIVE_STATUSES, Outcome, RunStatus, StepLog, Workflow, WorkflowRun
from .nodes import node_type
from .runs.enrolment import Candidate, WorkspaceIndex, enrol, trigger_index


@on_events_ingested(order=ORDER_WORKFLOWS, name="workflows")
def workflows_process(batch: IngestedBatch) -> None:
    index = trigger_index(batch.workspace.pk)
    if index.idle or not batch.contact_ids:
        return
    enrol_from_batch(batch, index)
    if index.wait_events or index.condition_waits:
        waits_wake(batch, index)
    if index.goals:
        goals_check(batch)


def _field_key(field: str, contact: Contact) -> str:
    # Same state, same key: a retried pipeline does not enrol twice for one change.
    return f"field:{field}:{contact.updated_at.timestamp() if contact.updated_at else ''}:{contact_value(contact, field)!s:.60}"


def enrol_from_batch(batch: IngestedBatch, index: WorkspaceIndex) -> None:
    candidates: list[Candidate] = []
    for event in batch.events:
        for ref in index.triggers.get(event.name, ()):
            spec = node_type(ref.type)
            if (
                spec
                and spec.trigger
                and spec.trigger.match(ref.config, event, set(), event.contact)
            ):
                candidates.append(
                    Candidate(
                        ref.workflow_id,
                        ref.node_id,
                        event.contact,
                        f"event:{event.pk}:{ref.node_id}",
                        {
                            "type": ref.type,
                            "event": event.name,
                            "event_id": event.pk,
                            "properties": event.properties,
                        },
                    )
                )
    field_refs = {key for key in index.triggers if key.startswith("field:")}
    wanted = {
        cid: fields
        for cid, fields in batch.changed_fields.items()
        if {f"field:{f}" for f in fields} & field_refs
    }
    if wanted:
        contacts = Contact.objects.for_workspace(batch.workspace).in_bulk(list(wanted))
        for contact_id, fields in wanted.items():
            contact = contacts.get(contact_id)
            for name in sorted(fields):
                for ref in index.triggers.get(f"field:{name}", ()) if contact else ():
                    spec = node_type(ref.type)
                    if (
                        spec
                        and spec.trigger
                        and spec.trigger.match(ref.config, None, set(fields), contact)
                    ):
                        candidates.append(
                            Candidate(
                                ref.workflow_id,
                                ref.node_id,
                                contact,  # type: ignore[arg-type]
                                f"{_field_key(name, contact)}:{ref.node_id}",  # type: ignore[arg-type]
                                {
                                    "type": ref.type,
                                    "field": name,
                                    "value": contact_value(contact, name),
                                },
                            )
                        )
    enrol(workspace=batch.workspace, candidates=candidates)


def _events_by_contact(batch: IngestedBatch) -> dict[int, list[Event]]:
    grouped: dict[int, list[Event]] = defaultdict(list)
    for event in batch.events:
        grouped[event.contact_id].append(event)
    return grouped


def waits_wake(batch: IngestedBatch, index: WorkspaceIndex) -> None:
    """Make due at once the runs whose wait this batch may end."""
    events = _events_by_contact(batch)
    event_contacts = {
        cid for cid, evs in events.items() if any(e.name in index.wait_events for e in evs)
    }
    condition_contacts = batch.contact_ids if index.condition_waits else set()
    contact_ids = event_contacts | condition_contacts
    if not contact_ids:
        return
    now = clock.now()
    woken = []
    with transaction.atomic():
        runs = (
            WorkflowRun.objects.for_workspace(batch.workspace)
            .select_for_update(of=("self",))
            .select_related("version")
            .filter(contact_id__in=contact_ids, status=RunStatus.WAITING, held=False)
            .order_by("id")
        )
        for run in runs:
            wait = run.context.get("wait") or {}
            if wait.get("node") != run.current_node:
                continue
            if wait.get("condition") and run.contact_id in condition_contacts:
                woken.append(run)
            elif wait.get("event") and not wait.get("resolved"):
                node = graph_for_version(run.version).node(run.current_node)
                match = next(
                    (
                        e
                        for e in events.get(run.contact_id, [])
                        if e.name == node.config["event"]
                        and properties_match(node.config.get("where"), e.properties)
                    ),
                    None,
                )
                if match is not None:
                    run.context["wait"] = {**wait, "resolved": True, "event_id": match.pk}
                    woken.append(run)
        for run in woken:
            run.next_step_at = now
        WorkflowRun.objects.bulk_update(woken, ["context", "next_step_at"])
        dispatch_after_commit([run.pk for run in woken if run.lease is None])


def _goal_jump_target(graph: Any, run: WorkflowRun) -> list[tuple[str, dict[str, Any]]]:
    return [
        (goal, graph.node(goal).config["filter"])
        for goal, ancestors in graph.goal_ancestors().items()
        if run.current_node in ancestors and graph.node(goal).config.get("filter")
    ]


def goals_check(batch: IngestedBatch) -> None:
    """Convert runs whose contact now meets the goal; jump runs to goal nodes they now meet."""
    workspace: Workspace = batch.workspace
    now = clock.now()
    effects = LiveEffects(workspace)
    converted: list[WorkflowRun] = []
    jumped: list[WorkflowRun] = []
    logs: list[StepLog] = []
    with transaction.atomic():
        runs = list(
            WorkflowRun.objects.for_workspace(workspace)
            .select_for_update(of=("self",))
            .select_related("workflow", "version", "contact")
            .filter(contact_id__in=batch.contact_ids, status__in=LIVE_STATUSES)
            .exclude(workflow__status=Workflow.Status.ARCHIVED)
            .order_by("id")
        )
        for run in runs:
            workflow = run.workflow
            entered = run.created_at
            if workflow.goal_filter and effects.evaluate(
                workflow.goal_filter, run.contact, now, entered
            ):
                logs.append(_log(run, Outcome.CONVERTED, now, "the workflow's goal was met"))
                finish(run, RunStatus.CONVERTED, now)
                converted.append(run)
                continue
            for goal, tree in _goal_jump_target(graph_for_version(run.version), run):
                if effects.evaluate(tree, run.contact, now, entered):
                    logs.append(_log(run, Outcome.PASSED, now, f"met goal '{goal}': jumping to it"))
                    run.current_node = goal
                    run.status = RunStatus.ACTIVE
                    run.next_step_at = now if run.lease is None else run.next_step_at
                    run.context.pop("wait", None)
                    run.context["goal_jump"] = goal
                    jumped.append(run)
                    break
        changed = converted + jumped
        if changed:
            for run in changed:
                run.updated_at = now
            WorkflowRun.objects.bulk_update(
                changed,
                [
                    "status",
                    "current_node",
                    "next_step_at",
                    "lease",
                    "context",
                    "finished_at",
                    "updated_at",
                    "error",
                ],
            )
            StepLog.objects.bulk_create(logs)
            run_events_record(
                workspace=workspace,
                exited=converted,
                names={r.workflow_id: r.workflow.name for r in converted},
                now=now,
            )
            dispatch_after_commit([run.pk for run in jumped])


def _log(run: WorkflowRun, outcome: str, now: Any, reason: str) -> StepLog:
    return StepLog(
        workspace_id=run.workspace_id,
        run_id=run.pk,
        workflow_id=run.workflow_id,
        contact_id=run.contact_id,
        node_id=run.current_node,
        node_type=graph_for_version(run.version).node(run.current_node).type,
        outcome=outcome,
        at=now,
        detail={"reason": reason},
    )
