"""Executing claimed runs for real: locking, persisting, external calls. See engine.py."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.dateparse import parse_datetime

from workspaces.models import Workspace

from . import clock
from .effects import LiveEffects
from .engine import RUN_FIELDS, Advance, advance_safely
from .graph import graph_for_version
from .models import LIVE_STATUSES, StepLog, Workflow, WorkflowRun
from .stream import run_events_record

logger = logging.getLogger(__name__)

# A claim: (run id, lease uuid as text, the time the run was due as ISO text or None).
Claim = Sequence[Any]


def _lag_ms(due: str | None, now: datetime) -> int | None:
    moment = parse_datetime(due) if due else None
    return max(0, int((now - moment).total_seconds() * 1000)) if moment else None


def _persist(
    workspace: Workspace,
    runs: list[WorkflowRun],
    logs: list[StepLog],
    workflows: dict[int, Workflow],
    now: datetime,
) -> None:
    for run in runs:
        run.updated_at = now
    WorkflowRun.objects.bulk_update(runs, RUN_FIELDS)
    StepLog.objects.bulk_create(logs)
    finished = [run for run in runs if run.status not in LIVE_STATUSES]
    if finished:
        run_events_record(
            workspace=workspace,
            exited=finished,
            names={pk: wf.name for pk, wf in workflows.items()},
            now=now,
        )


def _locked_runs(workspace: Workspace, claims: Sequence[Claim]) -> list[WorkflowRun]:
    leases = {int(claim[0]): str(claim[1]) for claim in claims}
    runs = (
        WorkflowRun.objects.for_workspace(workspace)
        .select_for_update(of=("self",))
        .select_related("contact", "version")
        .filter(pk__in=list(leases), status__in=LIVE_STATUSES)
        # One lock order for everyone (contacts first): chunks touching the same contacts
        # queue up instead of deadlocking.
        .order_by("contact_id", "id")
    )
    # A run whose lease changed was claimed again (ours expired): that claim owns it now.
    return [run for run in runs if run.lease is not None and str(run.lease) == leases[run.pk]]


def runs_execute(*, workspace: Workspace, claims: Sequence[Claim]) -> int:
    """Execute a chunk of claimed runs; returns the number of node executions."""
    due_by_id = {int(claim[0]): (claim[2] if len(claim) > 2 else None) for claim in claims}
    external: list[tuple[int, str]] = []
    steps = 0
    with transaction.atomic():
        runs = _locked_runs(workspace, claims)
        if not runs:
            return 0
        now = clock.now()
        workflows = (
            Workflow.objects.for_workspace(workspace)
            .select_related("workspace")
            .in_bulk({r.workflow_id for r in runs})
        )
        effects = LiveEffects(workspace)
        logs: list[StepLog] = []
        touched: list[WorkflowRun] = []
        for run in runs:
            workflow = workflows[run.workflow_id]
            if run.held or workflow.status != Workflow.Status.ACTIVE:
                # Paused meanwhile: give the run back as it was; resuming picks it up.
                due = due_by_id.get(run.pk)
                run.lease = None
                run.next_step_at = parse_datetime(due) if due else now
                touched.append(run)
                continue
            result = advance_safely(
                run,
                graph=graph_for_version(run.version),
                workflow=workflow,
                contact=run.contact,
                now=now,
                effects=effects,
            )
            lag = _lag_ms(due_by_id.get(run.pk), now)
            if result.logs and lag is not None:
                result.logs[0].detail = {**result.logs[0].detail, "lag_ms": lag}
            logs += result.logs
            steps += len(result.logs)
            if result.external_node:
                external.append((run.pk, str(run.lease)))  # keeps its lease until recorded
            else:
                run.lease = None
            touched.append(run)
        _persist(workspace, touched, logs, workflows, now)
    for run_id, lease in external:
        steps += run_external(workspace=workspace, run_id=run_id, lease=lease)
    return steps


def run_external(*, workspace: Workspace, run_id: int, lease: str, max_calls: int = 20) -> int:
    """Make the outside call of the node the run stopped at (outside any transaction), then
    record its response and move on, until the run rests again."""
    steps = 0
    for _ in range(max_calls):
        run = (
            WorkflowRun.objects.for_workspace(workspace)
            .select_related("contact", "version", "workflow__workspace")
            .filter(pk=run_id, lease=lease, status__in=LIVE_STATUSES)
            .first()
        )
        if run is None:
            return steps
        graph = graph_for_version(run.version)
        node_id = run.current_node
        node_type = graph.type_of(node_id)
        if node_type.external_call is None:
            return steps
        effects = LiveEffects(workspace)
        step = _step_for_call(run, graph, node_id, effects)
        response = node_type.external_call(step)
        result: Advance
        with transaction.atomic():
            locked = (
                WorkflowRun.objects.for_workspace(workspace)
                .select_for_update(of=("self",))
                .select_related("contact", "version", "workflow__workspace")
                .filter(pk=run_id, lease=lease, status__in=LIVE_STATUSES, current_node=node_id)
                .first()
            )
            if locked is None:
                return steps
            now = clock.now()
            result = advance_safely(
                locked,
                graph=graph,
                workflow=locked.workflow,
                contact=locked.contact,
                now=now,
                effects=effects,
                external=response,
            )
            if not result.external_node:
                locked.lease = None
            _persist(workspace, [locked], result.logs, {locked.workflow_id: locked.workflow}, now)
        steps += len(result.logs)
        if not result.external_node:
            return steps
    return steps


def _step_for_call(run: WorkflowRun, graph: Any, node_id: str, effects: LiveEffects) -> Any:
    from .localtime import contact_zone
    from .nodes.base import Step

    return Step(
        workspace=run.workflow.workspace,
        workflow=run.workflow,
        run_id=run.pk,
        run_context=run.context,
        contact=run.contact,
        node=graph.node(node_id),
        now=clock.now(),
        zone=contact_zone(run.contact.timezone, run.workflow.workspace.timezone),
        effects=effects,
    )
