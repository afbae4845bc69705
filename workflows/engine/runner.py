"""Executing claimed runs for real: locking, persisting, external calls. See engine.py."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils.dateparse import parse_datetime

from config.faults import fault_point, fault_point_on_commit
from workspaces.models import Workspace

from ..graph.graph import graph_for_version
from ..models import LIVE_STATUSES, StepLog, Workflow, WorkflowRun, WorkflowVersion
from . import clock
from .effects import LiveEffects
from .engine import Advance, advance_plainly, advance_safely
from .stream import run_events_record

logger = logging.getLogger(__name__)

# A claim: (run id, lease uuid as text, the time the run was due as ISO text or None).
Claim = Sequence[Any]


def _lag_ms(due: str | None, now: datetime) -> int | None:
    moment = parse_datetime(due) if due else None
    return max(0, int((now - moment).total_seconds() * 1000)) if moment else None


UPDATE_SQL = """
UPDATE workflows_workflowrun AS r
SET status = v.status, current_node = v.current_node, next_step_at = v.next_step_at,
    lease = v.lease, attempts = v.attempts, context = v.context, error = v.error,
    finished_at = v.finished_at, updated_at = v.updated_at
FROM (VALUES {rows}) AS v(id, status, current_node, next_step_at, lease, attempts, context,
                          error, finished_at, updated_at)
WHERE r.id = v.id
"""
ROW = "(%s::bigint, %s, %s, %s::timestamptz, %s::uuid, %s::smallint, %s::jsonb, %s, %s::timestamptz, %s::timestamptz)"


def _runs_write(runs: list[WorkflowRun], now: datetime) -> None:
    """All the chunk's run changes in one statement (Django's bulk_update builds a CASE per
    field and row, which costs more Python than the UPDATE costs Postgres)."""
    params: list[Any] = []
    for run in runs:
        run.updated_at = now
        params += [
            run.pk, run.status, run.current_node, run.next_step_at, run.lease, run.attempts,
            json.dumps(run.context, default=str), run.error, run.finished_at, now,
        ]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(UPDATE_SQL.format(rows=", ".join([ROW] * len(runs))), params)


LOG_COLUMNS = (
    "workspace_id",
    "run_id",
    "workflow_id",
    "contact_id",
    "node_id",
    "node_type",
    "outcome",
    "port",
    "at",
    "duration_ms",
    "error",
    "detail",
)


LOG_INSERT_SQL = (
    f"INSERT INTO workflows_steplog ({', '.join(LOG_COLUMNS)})"  # noqa: S608 — constant names
    f" SELECT {', '.join(LOG_COLUMNS)} FROM json_populate_recordset(NULL::workflows_steplog, %s)"
)


def _logs_write(logs: list[StepLog]) -> None:
    """The chunk's step logs — hundreds of rows — in one statement and one round trip, no ORM:
    one JSON array, typed by the table's own row type. Not COPY: PostgreSQL refuses COPY FROM
    into a table under Row Level Security, and an INSERT is checked by the tenant policy
    like any other write (docs/security.md)."""
    if not logs:
        return
    rows = [
        {
            "workspace_id": log.workspace_id, "run_id": log.run_id, "workflow_id": log.workflow_id,
            "contact_id": log.contact_id, "node_id": log.node_id, "node_type": log.node_type,
            "outcome": log.outcome, "port": log.port, "at": log.at.isoformat(),
            "duration_ms": log.duration_ms, "error": log.error, "detail": log.detail,
        }
        for log in logs
    ]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(LOG_INSERT_SQL, [json.dumps(rows, default=str)])


def _persist(
    workspace: Workspace,
    runs: list[WorkflowRun],
    logs: list[StepLog],
    workflows: dict[int, Workflow],
    now: datetime,
) -> None:
    if runs:
        _runs_write(runs, now)
    _logs_write(logs)
    finished = [run for run in runs if run.status not in LIVE_STATUSES]
    if finished:
        run_events_record(
            workspace=workspace,
            exited=finished,
            names={pk: wf.name for pk, wf in workflows.items()},
            now=now,
        )


def _locked_runs(
    workspace: Workspace, claims: Sequence[Claim], *, contacts_too: bool
) -> list[WorkflowRun]:
    leases = {int(claim[0]): str(claim[1]) for claim in claims}
    runs = (
        WorkflowRun.objects.for_workspace(workspace)
        # The fast path locks the contacts as well: their tags are written at the end.
        # (NO KEY UPDATE: events may still be inserted for these contacts meanwhile.)
        .select_for_update(of=("self", "contact") if contacts_too else ("self",), no_key=True)
        .select_related("contact")
        .filter(pk__in=list(leases), status__in=LIVE_STATUSES)
        # One lock order for everyone (contacts first): chunks touching the same contacts
        # queue up instead of deadlocking.
        .order_by("contact_id", "id")
    )
    # A run whose lease changed was claimed again (ours expired): that claim owns it now.
    mine = [run for run in runs if run.lease is not None and str(run.lease) == leases[run.pk]]
    # Runs of the same contact (several workflows) share one contact object.
    contacts: dict[int, Any] = {}
    for run in mine:
        run.contact = contacts.setdefault(run.contact_id, run.contact)
    return mine


class _Careful(Exception):
    """A step failed on the fast path: redo the chunk with a savepoint per run."""


def _execute_chunk(
    workspace: Workspace, claims: Sequence[Claim], *, careful: bool
) -> tuple[int, list[tuple[int, str]]]:
    due_by_id = {int(claim[0]): (claim[2] if len(claim) > 2 else None) for claim in claims}
    external: list[tuple[int, str]] = []
    steps = 0
    with transaction.atomic():
        # Registered first: dies after the commit, before the chunk's publishes (sends, events).
        fault_point_on_commit("workflows.chunk_committed")
        runs = _locked_runs(workspace, claims, contacts_too=not careful)
        if not runs:
            return 0, []
        now = clock.now()
        workflows = (
            Workflow.objects.for_workspace(workspace)
            .select_related("workspace")
            .in_bulk({r.workflow_id for r in runs})
        )
        versions = WorkflowVersion.objects.for_workspace(workspace).in_bulk(
            {r.version_id for r in runs}
        )
        effects = LiveEffects(workspace, deferred=not careful)
        logs: list[StepLog] = []
        for run in runs:
            workflow = workflows[run.workflow_id]
            if run.held or workflow.status != Workflow.Status.ACTIVE:
                # Paused meanwhile: give the run back as it was; resuming picks it up.
                due = due_by_id.get(run.pk)
                run.lease = None
                run.next_step_at = parse_datetime(due) if due else now
                continue
            graph = graph_for_version(versions[run.version_id])
            if careful:
                result = advance_safely(
                    run,
                    graph=graph,
                    workflow=workflow,
                    contact=run.contact,
                    now=now,
                    effects=effects,
                )
            else:
                try:
                    result = advance_plainly(
                        run,
                        graph=graph,
                        workflow=workflow,
                        contact=run.contact,
                        now=now,
                        effects=effects,
                    )
                except Exception as error:
                    raise _Careful from error
            lag = _lag_ms(due_by_id.get(run.pk), now)
            if result.logs and lag is not None:
                result.logs[0].detail = {**result.logs[0].detail, "lag_ms": lag}
            logs += result.logs
            steps += len(result.logs)
            if result.external_node:
                external.append((run.pk, str(run.lease)))  # keeps its lease until recorded
            else:
                run.lease = None
        try:
            effects.messages_write()
        except Exception as error:
            if careful:
                raise
            raise _Careful from error
        _persist(workspace, runs, logs, workflows, now)
        effects.flush()
        fault_point("workflows.chunk_before_commit")
    return steps, external


def runs_execute(*, workspace: Workspace, claims: Sequence[Claim]) -> int:
    """Execute a chunk of claimed runs; returns the number of node executions.

    The fast path runs the whole chunk in one transaction without a savepoint per run.
    When any step raises, that transaction is rolled back and the chunk is done again with
    a savepoint per run, so the failing run is retried or failed alone and the others
    go ahead (failures are rare; savepoints on every run would cost each run two queries)."""
    try:
        steps, external = _execute_chunk(workspace, claims, careful=False)
    except _Careful:
        steps, external = _execute_chunk(workspace, claims, careful=True)
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
            effects.flush()
        steps += len(result.logs)
        if not result.external_node:
            return steps
    return steps


def _step_for_call(run: WorkflowRun, graph: Any, node_id: str, effects: LiveEffects) -> Any:
    from ..localtime import contact_zone
    from ..nodes.base import Step

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
        entered_at=run.created_at,
    )
