"""The engine: carry claimed runs through their graph, node by node, until a wait or the end.

`advance()` is the pure core: it moves one in-memory run forward and returns the step logs,
never touching run rows itself — the live path (`runs_execute`) and test mode
(`workflows.preview.simulation`) both drive it.

The live path, per chunk of claimed runs (one Celery task):
1. one transaction: lock the runs (only those still holding the task's lease), advance each
   inside a savepoint, then write the runs and their step logs in bulk. The side effects'
   database records (a Message row, a tag) commit together with the move to the next node,
   so a worker killed mid-chunk loses nothing and duplicates nothing: the chunk rolls back,
   the leases expire, the scheduler claims the runs again.
2. runs that reached a node calling the outside world (a webhook) stop there; the call is
   made after the commit, outside any transaction, with an idempotency key of run + node,
   and its response is recorded by a second transaction that moves the run on.
A step that raises is retried with exponential backoff (the run waits as a row, not as a
Celery countdown), then the run fails with the error kept on it and in the step log.
"""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction

from contacts.models import Contact

from ..graph.graph import Graph
from ..localtime import contact_zone
from ..models import Outcome, RunStatus, StepLog, Workflow, WorkflowRun
from ..nodes.base import Result, Step, StepFailed

logger = logging.getLogger(__name__)

MAX_STEPS_PER_ADVANCE = 200


def max_attempts() -> int:
    return int(settings.WORKFLOWS_STEP_MAX_ATTEMPTS)


def retry_delay(attempt: int) -> timedelta:
    """30 s, 2 min, 8 min, 32 min … (capped at 6 h)."""
    base = float(settings.WORKFLOWS_RETRY_BASE_SECONDS)
    return timedelta(seconds=min(base * 4 ** (attempt - 1), 6 * 3600))


@dataclass
class Advance:
    logs: list[StepLog] = field(default_factory=list)
    # The run stopped in front of a node that calls the outside world.
    external_node: str | None = None


def _log(
    run: WorkflowRun, node_id: str, node_type: str, result: Result, now: datetime, started: float
) -> StepLog:
    return StepLog(
        workspace_id=run.workspace_id,
        run_id=run.pk,
        workflow_id=run.workflow_id,
        contact_id=run.contact_id,
        node_id=node_id,
        node_type=node_type,
        outcome=result.outcome,
        port=result.port or "",
        at=now,
        duration_ms=int((time.perf_counter() - started) * 1000),
        detail=result.detail,
    )


def finish(run: WorkflowRun, status: str, now: datetime, *, error: str = "") -> None:
    run.status = status
    run.finished_at = now
    run.next_step_at = None
    run.lease = None
    run.error = error
    run.context.pop("wait", None)


def _arrive(run: WorkflowRun, node_id: str) -> None:
    run.current_node = node_id
    visits = run.context.setdefault("visits", {})
    visits[node_id] = int(visits.get(node_id, 0)) + 1
    run.attempts = 0
    run.error = ""


def advance(
    run: WorkflowRun,
    *,
    graph: Graph,
    workflow: Workflow,
    contact: Contact,
    now: datetime,
    effects: Any,
    external: dict[str, Any] | None = None,
    stop_at: str | None = None,
) -> Advance:
    """Execute nodes from `run.current_node` until a wait, the end, or an external call.

    Exceptions from executors propagate (with `run` partly moved: callers restore a copy).
    `stop_at` halts on arrival at that node (used to redo the steps before a failing one).
    """
    out = Advance()
    zone = contact_zone(
        contact.timezone, workflow.workspace.timezone if workflow.workspace_id else None
    )
    for _ in range(MAX_STEPS_PER_ADVANCE):
        node_id = run.current_node
        node = graph.node(node_id)
        node_type = graph.type_of(node_id)
        if node_type.external_call is not None and external is None:
            out.external_node = node_id
            return out
        step = Step(
            workspace=workflow.workspace,
            workflow=workflow,
            run_id=run.pk,
            run_context=run.context,
            contact=contact,
            node=node,
            now=now,
            zone=zone,
            effects=effects,
            external=external,
            entered_at=run.created_at,
        )
        external = None
        effects.node, effects.now = node_id, now  # for effects that report where/when
        started = time.perf_counter()
        try:
            result = node_type.execute(step)
        except Exception as error:
            error.workflow_node = node_id  # type: ignore[attr-defined]  # where it failed
            raise
        out.logs.append(_log(run, node_id, node.type, result, now, started))
        run.context.update(result.context)
        if result.end:
            finish(run, result.end, now)
            return out
        if result.wait_until is not None:
            run.status = RunStatus.WAITING
            run.next_step_at = result.wait_until
            run.context["wait"] = result.wait_state
            return out
        run.context.pop("wait", None)
        run.context.pop("goal_jump", None)
        target = graph.next(node_id, result.port) if result.port else None
        if target is None:
            finish(
                run,
                RunStatus.CONVERTED if run.context.get("converted") else RunStatus.COMPLETED,
                now,
            )
            return out
        run.status = RunStatus.ACTIVE
        _arrive(run, target)
        if target == stop_at:
            run.next_step_at = now
            return out
    # Only reachable through very long chains: continue on the next claim.
    run.status = RunStatus.ACTIVE
    run.next_step_at = now
    return out


def _fail_or_retry(
    run: WorkflowRun, node_id: str, node_type: str, error: Exception, now: datetime
) -> StepLog:
    message = (
        f"{type(error).__name__}: {error}" if not isinstance(error, StepFailed) else str(error)
    )
    detail = dict(getattr(error, "detail", {}) or {})
    retryable = getattr(error, "retryable", True)
    attempt = run.attempts + 1
    run.current_node = node_id
    run.error = message
    run.lease = None
    if retryable and attempt < max_attempts():
        run.attempts = attempt
        run.status = RunStatus.ACTIVE
        run.next_step_at = now + retry_delay(attempt)
        outcome = Outcome.RETRY
        detail["attempt"] = attempt
        detail["retry_at"] = run.next_step_at.isoformat()
    else:
        run.attempts = attempt
        finish(run, RunStatus.FAILED, now, error=message)
        outcome = Outcome.FAILED
    return StepLog(
        workspace_id=run.workspace_id,
        run_id=run.pk,
        workflow_id=run.workflow_id,
        contact_id=run.contact_id,
        node_id=node_id,
        node_type=node_type,
        outcome=outcome,
        at=now,
        error=message[:4000],
        detail=detail,
    )


def _goal_met(
    run: WorkflowRun, workflow: Workflow, contact: Contact, now: datetime, effects: Any
) -> bool:
    return bool(workflow.goal_filter) and effects.evaluate(
        workflow.goal_filter, contact, now, run.created_at
    )


def advance_plainly(
    run: WorkflowRun,
    *,
    graph: Graph,
    workflow: Workflow,
    contact: Contact,
    now: datetime,
    effects: Any,
    external: dict[str, Any] | None = None,
) -> Advance:
    """advance() with the workflow's goal checked first; exceptions propagate (the caller's
    transaction is then rolled back and the chunk redone carefully)."""
    if _goal_met(run, workflow, contact, now, effects):
        node_type = graph.node(run.current_node).type
        finish(run, RunStatus.CONVERTED, now)
        return Advance(logs=[_goal_log(run, now, node_type)])
    return advance(
        run,
        graph=graph,
        workflow=workflow,
        contact=contact,
        now=now,
        effects=effects,
        external=external,
    )


def advance_safely(
    run: WorkflowRun,
    *,
    graph: Graph,
    workflow: Workflow,
    contact: Contact,
    now: datetime,
    effects: Any,
    external: dict[str, Any] | None = None,
) -> Advance:
    """advance() inside a savepoint; a failing step is retried later or fails the run, and
    the steps before it in this claim are redone up to it (so none is skipped)."""
    snapshot = _snapshot(run)
    try:
        with transaction.atomic():
            return advance_plainly(
                run,
                graph=graph,
                workflow=workflow,
                contact=contact,
                now=now,
                effects=effects,
                external=external,
            )
    except Exception as error:  # noqa: BLE001 — any failure of a step is the run's failure
        failed = getattr(error, "workflow_node", None) or run.current_node
        _restore(run, snapshot)
        logs: list[StepLog] = []
        if failed != run.current_node:
            # Redo the steps before the failing one, so their effects are kept.
            try:
                with transaction.atomic():
                    logs = advance(
                        run,
                        graph=graph,
                        workflow=workflow,
                        contact=contact,
                        now=now,
                        effects=effects,
                        external=external,
                        stop_at=failed,
                    ).logs
            except Exception:  # noqa: BLE001
                _restore(run, snapshot)
                logs = []
        logger.info("workflow run %s failed at %s: %s", run.pk, run.current_node, error)
        logs.append(
            _fail_or_retry(run, run.current_node, graph.node(run.current_node).type, error, now)
        )
        return Advance(logs=logs)


def _snapshot(run: WorkflowRun) -> tuple[Any, ...]:
    return (
        run.status,
        run.current_node,
        run.next_step_at,
        run.attempts,
        copy.deepcopy(run.context),
        run.error,
    )


def _restore(run: WorkflowRun, snapshot: tuple[Any, ...]) -> None:
    (run.status, run.current_node, run.next_step_at, run.attempts, context, run.error) = snapshot
    run.context = copy.deepcopy(context)


def _goal_log(run: WorkflowRun, now: datetime, node_type: str) -> StepLog:
    return StepLog(
        workspace_id=run.workspace_id,
        run_id=run.pk,
        workflow_id=run.workflow_id,
        contact_id=run.contact_id,
        node_id=run.current_node,
        node_type=node_type,
        outcome=Outcome.CONVERTED,
        at=now,
        detail={"reason": "the workflow's goal was met"},
    )
