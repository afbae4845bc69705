"""Enrolment: from a trigger firing to a WorkflowRun row, applying the entry rules.

- The trigger index: per workspace, the active workflows' triggers keyed by event name
  (or "field:<name>" for profile changes), cached and invalidated on publish / pause /
  resume / archive. The pipeline processor looks each event up in it: an event no workflow
  listens to costs one dictionary lookup.
- `enrol()`: trigger filter, suppression segment, re-entry (never / always / after N days),
  one live run per contact (a partial unique index), and an enrolment key that makes a
  retried pipeline, API call or anniversary sweep enrol once. Runs are inserted with
  ON CONFLICT DO NOTHING and started at once (claimed and dispatched after commit).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Max
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Substr

from contacts.models import Contact
from workspaces.errors import Conflict
from workspaces.experiments import stable_percentile
from workspaces.models import Workspace

from .. import integrations
from ..engine import clock
from ..engine.effects import LiveEffects
from ..engine.scheduler import dispatch_after_commit
from ..engine.stream import run_events_record
from ..graph.graph import graph_for_version
from ..localtime import contact_zone, parse_hhmm
from ..models import HOLDOUT, LIVE_STATUSES, RunStatus, Workflow, WorkflowRun, WorkflowVersion
from ..nodes import node_type

INDEX_KEY = "workflows:index:v1:{}"
INDEX_TTL = 60 * 60


# --- the trigger index --------------------------------------------------------------------


@dataclass
class TriggerRef:
    workflow_id: int
    node_id: str
    type: str
    config: dict[str, Any]


@dataclass
class WorkspaceIndex:
    triggers: dict[str, list[TriggerRef]] = field(default_factory=dict)
    wait_events: set[str] = field(default_factory=set)  # names wait.until_event nodes await
    condition_waits: bool = False
    goals: bool = False

    @property
    def idle(self) -> bool:
        return not (self.triggers or self.wait_events or self.condition_waits or self.goals)


def _build_index(workspace_id: int) -> WorkspaceIndex:
    index = WorkspaceIndex()
    live_workflows = Workflow.objects.for_workspace(workspace_id).filter(
        status__in=(Workflow.Status.ACTIVE, Workflow.Status.PAUSED)
    )
    for workflow in live_workflows.select_related("current_version"):
        index.goals |= bool(workflow.goal_filter)
        version = workflow.current_version
        if workflow.status != Workflow.Status.ACTIVE or version is None:
            continue
        for node in graph_for_version(version).triggers():
            spec = node_type(node.type)
            if spec is None or spec.trigger is None:
                continue
            ref = TriggerRef(workflow.pk, node.id, node.type, dict(node.config))
            for key in spec.trigger.keys(node.config):
                index.triggers.setdefault(key, []).append(ref)
    # Waits and goals matter for every published version that may still have runs.
    versions = WorkflowVersion.objects.for_workspace(workspace_id).filter(
        published_at__isnull=False, workflow__in=live_workflows
    )
    for version in versions:
        for node in graph_for_version(version).nodes.values():
            if node.type == "wait.until_event":
                index.wait_events.add(node.config["event"])
            elif node.type == "wait.until_condition":
                index.condition_waits = True
            elif node.type == "goal" and node.config.get("filter"):
                index.goals = True
    return index


def trigger_index(workspace_id: int) -> WorkspaceIndex:
    key = INDEX_KEY.format(workspace_id)
    index = cache.get(key)
    if index is None:
        index = _build_index(workspace_id)
        cache.set(key, index, INDEX_TTL)
    return index  # type: ignore[no-any-return]


def trigger_index_invalidate(workspace_id: int) -> None:
    transaction.on_commit(lambda: cache.delete(INDEX_KEY.format(workspace_id)))
    cache.delete(INDEX_KEY.format(workspace_id))


# --- enrolment ------------------------------------------------------------------------------


@dataclass
class Candidate:
    workflow_id: int
    node_id: str
    contact: Contact
    key: str
    trigger: dict[str, Any] = field(default_factory=dict)  # what fired: event, properties …


@dataclass
class Refusal:
    candidate: Candidate
    reason: str


def in_holdout(workflow: Workflow, contact_id: int) -> bool:
    """Whether the contact belongs to the workflow's holdout: a hash of (workflow, contact),
    so the same contact is held out every time they would enter, and the share is even."""
    if not workflow.holdout_percent:
        return False
    return stable_percentile(f"{workflow.pk}:{contact_id}") < workflow.holdout_percent


INSERT_SQL = """
INSERT INTO workflows_workflowrun
    (workspace_id, created_at, updated_at, workflow_id, version_id, contact_id, status,
     current_node, next_step_at, held, attempts, context, error, enrolment_key, finished_at)
SELECT %(workspace)s, %(now)s, %(now)s, u.workflow_id, u.version_id, u.contact_id, u.status,
       u.node, CASE WHEN u.status = 'active' THEN %(now)s::timestamptz END, false, 0,
       u.context::jsonb, '', u.key, CASE WHEN u.status = 'active' THEN NULL ELSE %(now)s END
FROM unnest(%(workflows)s::bigint[], %(versions)s::bigint[], %(contacts)s::bigint[],
            %(nodes)s::text[], %(contexts)s::text[], %(keys)s::text[], %(statuses)s::text[])
     AS u(workflow_id, version_id, contact_id, node, context, key, status)
ON CONFLICT DO NOTHING
RETURNING id, workflow_id, contact_id, version_id, status
"""


def _reentry_blocked(
    workspace: Workspace, workflows: dict[int, Workflow], candidates: list[Candidate], now: datetime
) -> set[tuple[int, int]]:
    """(workflow, contact) pairs whose re-entry rule says no (live runs are left to the index)."""
    strict = [c for c in candidates if workflows[c.workflow_id].reentry != Workflow.Reentry.ALWAYS]
    if not strict:
        return set()
    rows = (
        WorkflowRun.objects.for_workspace(workspace)
        .filter(
            workflow_id__in={c.workflow_id for c in strict},
            contact_id__in={c.contact.pk for c in strict},
        )
        .values("workflow_id", "contact_id")
        .annotate(last=Max("created_at"))
    )
    blocked = set()
    for row in rows:
        workflow = workflows[row["workflow_id"]]
        if (
            workflow.reentry == Workflow.Reentry.NEVER
            or workflow.reentry == Workflow.Reentry.AFTER_DAYS
            and row["last"] > now - timedelta(days=workflow.reentry_days or 0)
        ):
            blocked.add((row["workflow_id"], row["contact_id"]))
    return blocked


def _admissible(
    workspace: Workspace, workflows: dict[int, Workflow], candidates: list[Candidate], now: datetime
) -> tuple[list[Candidate], list[Refusal]]:
    effects = LiveEffects(workspace)
    blocked = _reentry_blocked(workspace, workflows, candidates, now)
    accepted, refused = [], []
    seen: set[tuple[int, int]] = set()
    for candidate in candidates:
        workflow = workflows.get(candidate.workflow_id)
        pair = (candidate.workflow_id, candidate.contact.pk)
        reason = None
        if (
            workflow is None
            or workflow.status != Workflow.Status.ACTIVE
            or workflow.current_version is None
        ):
            reason = "the workflow is not active"
        else:
            graph = graph_for_version(workflow.current_version)
            node = graph.nodes.get(candidate.node_id)
            if node is None or not node.type.startswith("trigger."):
                reason = "the workflow's current version has no such trigger"
            elif pair in blocked:
                reason = "the workflow's re-entry rule does not let this contact in again yet"
            elif pair in seen:
                reason = "already enrolled by this batch"
            elif workflow.suppression_segment_id and effects.in_segment(
                workflow.suppression_segment_id, candidate.contact
            ):
                reason = "the contact is in the workflow's suppression segment"
            elif node.config.get("filter") and not effects.evaluate(
                node.config["filter"], candidate.contact, now
            ):
                reason = "the contact does not match the trigger's filter"
        if reason:
            refused.append(Refusal(candidate, reason))
        else:
            seen.add(pair)
            accepted.append(candidate)
    return accepted, refused


def _insert(
    workspace: Workspace, workflows: dict[int, Workflow], accepted: list[Candidate], now: datetime
) -> list[WorkflowRun]:
    """One INSERT … SELECT FROM unnest(arrays): one parameter per column, not per value."""
    if not accepted:
        return []
    params: dict[str, Any] = {"workspace": workspace.pk, "now": now}
    params["workflows"] = [c.workflow_id for c in accepted]
    params["versions"] = [workflows[c.workflow_id].current_version_id for c in accepted]
    params["contacts"] = [c.contact.pk for c in accepted]
    params["nodes"] = [c.node_id for c in accepted]
    held = [in_holdout(workflows[c.workflow_id], c.contact.pk) for c in accepted]
    params["contexts"] = [
        json.dumps(
            {
                "trigger": {"node": c.node_id, **c.trigger},
                "visits": {c.node_id: 1},
                **({"exit_reason": HOLDOUT} if out else {}),
            },
            default=str,
        )
        for c, out in zip(accepted, held, strict=True)
    ]
    params["keys"] = [c.key for c in accepted]
    params["statuses"] = [(RunStatus.EXITED if out else RunStatus.ACTIVE).value for out in held]
    with connection.cursor() as cursor:
        cursor.execute(INSERT_SQL, params)
        created = cursor.fetchall()
    return [
        WorkflowRun(
            pk=run_id,
            workspace_id=workspace.pk,
            workflow_id=wf_id,
            contact_id=contact_id,
            version_id=version_id,
            status=status,
        )
        for run_id, wf_id, contact_id, version_id, status in created
    ]


def enrol(
    *,
    workspace: Workspace,
    candidates: list[Candidate],
    now: datetime | None = None,
    dispatch: bool = True,
) -> tuple[list[WorkflowRun], list[Refusal]]:
    """Enrol who may enter; returns the new runs and the refusals (with their reasons).
    A candidate that loses a race (a live run already exists, same key) is simply absent.
    New runs start at once (`dispatch`), or wait for the scheduler's next tick."""
    if not candidates:
        return [], []
    now = now or clock.now()
    with transaction.atomic():
        workflows = (
            Workflow.objects.for_workspace(workspace)
            .select_related("current_version")
            .in_bulk({c.workflow_id for c in candidates})
        )
        accepted, refused = _admissible(workspace, workflows, candidates, now)
        runs = _insert(workspace, workflows, accepted, now)
        started = [run for run in runs if run.status == RunStatus.ACTIVE]  # not held out
        run_events_record(
            workspace=workspace,
            entered=started,
            names={pk: w.name for pk, w in workflows.items()},
            now=now,
        )
        if dispatch:
            dispatch_after_commit(run.pk for run in started)
    return runs, refused


def _start_node(workflow: Workflow, preferred: str = "trigger.api") -> str | None:
    if workflow.current_version is None:
        return None
    triggers = graph_for_version(workflow.current_version).triggers()
    for node in triggers:
        if node.type == preferred:
            return node.id
    return triggers[0].id if triggers else None


def enrol_contact(
    *,
    workspace: Workspace,
    workflow_id: int,
    contact: Contact,
    key: str,
    context: dict[str, Any] | None = None,
    strict: bool = True,
    require_api_trigger: bool = False,
) -> WorkflowRun | None:
    """Enrol one contact (the API, action.enroll_workflow). `strict` raises Conflict with the
    reason when the contact cannot enter; otherwise None is returned."""
    workflow = (
        Workflow.objects.for_workspace(workspace)
        .select_related("current_version")
        .filter(pk=workflow_id)
        .first()
    )
    node_id = _start_node(workflow) if workflow else None
    if require_api_trigger and workflow is not None and workflow.current_version is not None:
        types = {n.id: n.type for n in graph_for_version(workflow.current_version).triggers()}
        if types.get(node_id or "") != "trigger.api":
            if strict:
                raise Conflict(
                    "This workflow has no 'Enrolled by API' trigger (trigger.api).",
                    code="no_api_trigger",
                )
            return None
    if workflow is None or node_id is None:
        if strict:
            raise Conflict("This workflow is not active.", code="workflow_not_active")
        return None
    runs, refused = enrol(
        workspace=workspace,
        candidates=[
            Candidate(workflow.pk, node_id, contact, key, {"type": "api", **(context or {})})
        ],
    )
    if runs:
        return runs[0]
    if strict:
        reason = refused[0].reason if refused else "the contact already has a run in progress"
        raise Conflict(f"Not enrolled: {reason}.", code="not_enrolled")
    return None


# --- segment snapshot and anniversaries ------------------------------------------------------


SNAPSHOT_BATCH = 1000


def segment_snapshot_enrol(*, workspace: Workspace, workflow_id: int) -> int:
    """Enrol everyone in the snapshot trigger's segment, once (on first activation)."""
    workflow = (
        Workflow.objects.for_workspace(workspace)
        .select_related("current_version")
        .filter(pk=workflow_id)
        .first()
    )
    if (
        workflow is None
        or workflow.status != Workflow.Status.ACTIVE
        or workflow.current_version is None
    ):
        return 0
    enrolled = 0
    for node in graph_for_version(workflow.current_version).triggers():
        if node.type != "trigger.segment_snapshot":
            continue
        ids = list(
            integrations.segment_member_ids(workspace=workspace, segment_id=node.config["segment"])
        )
        for start in range(0, len(ids), SNAPSHOT_BATCH):
            contacts = Contact.objects.for_workspace(workspace).filter(
                pk__in=ids[start : start + SNAPSHOT_BATCH]
            )
            candidates = [
                Candidate(
                    workflow.pk,
                    node.id,
                    contact,
                    f"snapshot:{node.id}",
                    {"type": "segment_snapshot", "segment": node.config["segment"]},
                )
                for contact in contacts
            ]
            runs, _ = enrol(workspace=workspace, candidates=candidates)
            enrolled += len(runs)
    Workflow.objects.filter(pk=workflow.pk).update(snapshot_enrolled_at=clock.now())
    return enrolled


def _anniversary_workflows(workspace_id: int | None = None) -> Any:
    qs = Workflow.objects.filter(
        status=Workflow.Status.ACTIVE,
        current_version__graph__nodes__contains=[{"type": "trigger.date_anniversary"}],
    )
    return qs.filter(workspace_id=workspace_id) if workspace_id else qs


def workspaces_with_anniversaries() -> list[int]:
    return sorted(set(_anniversary_workflows().values_list("workspace_id", flat=True)))


def _month_days(today: date) -> list[str]:
    days = {(today + timedelta(days=delta)).strftime("%m-%d") for delta in (-1, 0, 1)}
    if "02-28" in days or "03-01" in days:
        days.add("02-29")  # a Feb 29 birthday is celebrated on Feb 28 in common years
    return sorted(days)


def _anniversary_today(value: Any, local_day: date, offset_days: int) -> bool:
    try:
        original = date.fromisoformat(str(value)[:10])
    except ValueError:
        return False
    target_day = local_day - timedelta(days=offset_days)
    month, day = original.month, original.day
    if (month, day) == (2, 29):
        leap = target_day.year % 4 == 0 and (
            target_day.year % 100 != 0 or target_day.year % 400 == 0
        )
        if not leap:
            day = 28
    return (target_day.month, target_day.day) == (month, day)


def anniversaries_enrol(*, workspace: Workspace) -> int:
    """Enrol contacts whose date attribute's anniversary is today, contact-local, once the
    local time has reached the trigger's `at` (once a year: the key holds the year)."""
    now = clock.now()
    enrolled = 0
    for workflow in _anniversary_workflows(workspace.pk).select_related("current_version"):
        for node in graph_for_version(workflow.current_version).triggers():  # type: ignore[arg-type]
            if node.type != "trigger.date_anniversary":
                continue
            attribute, offset = node.config["attribute"], int(node.config.get("offset_days", 0))
            at = parse_hhmm(node.config.get("at", "09:00"))
            month_days = _month_days((now - timedelta(days=offset)).date())
            contacts = (
                Contact.objects.for_workspace(workspace)
                .filter(attributes__has_key=attribute)
                .annotate(_md=Substr(KeyTextTransform(attribute, "attributes"), 6, 5))
                .filter(_md__in=month_days)
            )
            candidates = []
            for contact in contacts.iterator(chunk_size=2000):
                local = now.astimezone(contact_zone(contact.timezone, workspace.timezone))
                if local.time() >= at and _anniversary_today(
                    contact.attributes.get(attribute), local.date(), offset
                ):
                    candidates.append(
                        Candidate(
                            workflow.pk,
                            node.id,
                            contact,
                            f"anniversary:{node.id}:{local.year}",
                            {
                                "type": "date_anniversary",
                                "attribute": attribute,
                                "value": contact.attributes.get(attribute),
                            },
                        )
                    )
            for start in range(0, len(candidates), SNAPSHOT_BATCH):
                runs, _ = enrol(
                    workspace=workspace, candidates=candidates[start : start + SNAPSHOT_BATCH]
                )
                enrolled += len(runs)
    return enrolled


def live_runs_for(workspace: Workspace, contact_ids: Iterable[int]) -> Any:
    return WorkflowRun.objects.for_workspace(workspace).filter(
        contact_id__in=list(contact_ids), status__in=LIVE_STATUSES
    )


def candidates_by_workflow(candidates: Iterable[Candidate]) -> dict[int, list[Candidate]]:
    grouped: dict[int, list[Candidate]] = defaultdict(list)
    for candidate in candidates:
        grouped[candidate.workflow_id].append(candidate)
    return grouped
