"""Writes for workflows: create, edit, versions, publish, pause / resume / archive, import.

A workflow's graph lives in versions. Editing a published workflow creates a new draft
version (or updates the existing draft); publishing validates the draft against the node
registry and this workspace (filters compile, templates and segments exist) and makes it
current. Runs in flight keep the version they started on.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Count

from workspaces.errors import Conflict, ValidationFailed
from workspaces.models import User, Workspace

from .engine import clock
from .engine.engine import finish
from .engine.stream import run_events_record
from .graph.documents import document_resolve
from .graph.graph import GraphInvalid, graph_structure_validate, graph_validate
from .localtime import parse_hhmm
from .models import (
    LIVE_STATUSES,
    Outcome,
    RunStatus,
    StepLog,
    Workflow,
    WorkflowRun,
    WorkflowVersion,
)
from .nodes.checks import filter_errors, segment_errors
from .runs.enrolment import trigger_index_invalidate

SETTINGS_FIELDS = (
    "name",
    "description",
    "reentry",
    "reentry_days",
    "goal_filter",
    "suppression_segment_id",
    "send_window",
    "daily_message_cap",
    "holdout_percent",
)

HOLDOUT_MAX = 50


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {message}", fields={field: [message]})


def _clean_send_window(window: Any) -> dict[str, Any] | None:
    if window in (None, {}):
        return None
    if not isinstance(window, dict) or set(window) - {"start", "end", "days"}:
        raise _invalid("send_window", 'expected {"start": "HH:MM", "end": "HH:MM", "days": [0-6]}.')
    try:
        start, end = (
            parse_hhmm(window.get("start", "00:00")),
            parse_hhmm(window.get("end", "23:59")),
        )
    except (ValueError, AttributeError):
        raise _invalid("send_window", "start and end must be times such as 09:00.") from None
    if start == end:
        raise _invalid("send_window", "start and end must differ.")
    days = window.get("days")
    if days is not None and (
        not isinstance(days, list) or not days or any(d not in range(7) for d in days)
    ):
        raise _invalid("send_window", "days must be a non-empty list of weekdays 0 (Monday) to 6.")
    return window


def _clean_settings(
    workspace: Workspace, data: dict[str, Any], current: Workflow | None
) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for key in SETTINGS_FIELDS:
        if key in data:
            clean[key] = data[key]
    if "name" in clean and not str(clean["name"] or "").strip():
        raise _invalid("name", "a workflow needs a name.")
    reentry = clean.get("reentry", current.reentry if current else Workflow.Reentry.NEVER)
    if reentry not in Workflow.Reentry.values:
        raise _invalid("reentry", f"must be one of {', '.join(Workflow.Reentry.values)}.")
    days = clean.get("reentry_days", current.reentry_days if current else None)
    if reentry == Workflow.Reentry.AFTER_DAYS and not (isinstance(days, int) and days > 0):
        raise _invalid(
            "reentry_days", "give the number of days (at least 1) before a contact may enter again."
        )
    if "goal_filter" in clean:
        clean["goal_filter"] = clean["goal_filter"] or None
        errors = filter_errors(clean["goal_filter"], workspace, where="goal_filter", in_run=True)
        if errors:
            raise _invalid("goal_filter", errors[0])
    if clean.get("suppression_segment_id") is not None:
        errors = segment_errors(
            clean["suppression_segment_id"], workspace, where="suppression_segment_id"
        )
        if errors:
            raise _invalid("suppression_segment_id", errors[0])
    if "send_window" in clean:
        clean["send_window"] = _clean_send_window(clean["send_window"])
    cap = clean.get("daily_message_cap")
    if cap is not None and not (isinstance(cap, int) and cap > 0):
        raise _invalid(
            "daily_message_cap",
            "must be a whole number of messages, at least 1 (or null for no cap).",
        )
    holdout = clean.get("holdout_percent")
    if "holdout_percent" in clean and not (
        isinstance(holdout, int) and not isinstance(holdout, bool) and 0 <= holdout <= HOLDOUT_MAX
    ):
        raise _invalid(
            "holdout_percent", f"must be a whole percentage from 0 to {HOLDOUT_MAX} (0: none)."
        )
    return clean


@transaction.atomic
def workflow_create(
    *,
    workspace: Workspace,
    data: dict[str, Any],
    graph: dict[str, Any] | None = None,
    user: User | None = None,
) -> Workflow:
    """A new draft workflow, with its first draft version when a graph is given."""
    clean = _clean_settings(workspace, data, None)
    if "name" not in clean:
        raise _invalid("name", "a workflow needs a name.")
    workflow = Workflow.objects.create(workspace=workspace, created_by=user, **clean)
    if graph is not None:
        draft_save(workspace=workspace, workflow=workflow, graph=graph, user=user)
    return workflow


@transaction.atomic
def workflow_update(*, workspace: Workspace, workflow: Workflow, data: dict[str, Any]) -> Workflow:
    clean = _clean_settings(workspace, data, workflow)
    for key, value in clean.items():
        setattr(workflow, key, value)
    workflow.save()
    trigger_index_invalidate(workspace.pk)
    return workflow


def draft_of(workflow: Workflow) -> WorkflowVersion | None:
    return workflow.versions.filter(published_at__isnull=True).order_by("-number").first()


def revision_of(version: WorkflowVersion | None) -> str:
    """The token an editor sends back when it saves: the newest version and when it last
    changed. Any save or publish in between changes it."""
    if version is None:
        return "0"
    return f"{version.pk}-{int(version.updated_at.timestamp() * 1_000_000)}"


def latest_version(workflow: Workflow) -> WorkflowVersion | None:
    return workflow.versions.order_by("-number").first()


class DraftConflict(Conflict):
    """The draft changed since the editor loaded it: the body carries what is there now."""

    code = "draft_conflict"

    def __init__(self, message: str, *, current: WorkflowVersion | None):
        super().__init__(message)
        self.current = current

    def as_dict(self) -> dict[str, Any]:
        body = super().as_dict()
        version = self.current
        body["error"]["current"] = {
            "revision": revision_of(version),
            "number": version.number if version else None,
            "is_published": bool(version and version.is_published),
            "updated_at": version.updated_at.isoformat() if version else None,
            "graph": version.graph if version else {"nodes": [], "edges": []},
        }
        return body


def _conflict(workspace: Workspace, current: WorkflowVersion | None) -> DraftConflict:
    from .localtime import contact_zone

    when = ""
    if current is not None:
        local = current.updated_at.astimezone(contact_zone(None, workspace.timezone))
        when = f" at {local:%H:%M} ({local.tzname()})"
    return DraftConflict(
        f"Someone else saved this workflow{when} after you opened it. Your changes were not "
        "saved: reload to see their version (copy what you need first).",
        current=current,
    )


@transaction.atomic
def draft_save(
    *,
    workspace: Workspace,
    workflow: Workflow,
    graph: dict[str, Any],
    user: User | None = None,
    revision: str | None = None,
    complete: bool = True,
) -> WorkflowVersion:
    """Save a graph as the workflow's draft: a new version when the last one is published.

    `complete=True` (the import / API default) requires a valid graph (known node types,
    schemas, edges, no loops without a wait; references are checked again on publish);
    `complete=False` (the builder's autosave) stores any well-formed graph, unfinished
    steps included. With `revision` (from revision_of), a save made after someone else's
    is refused with DraftConflict instead of overwriting their work."""
    if workflow.status == Workflow.Status.ARCHIVED:
        raise Conflict("An archived workflow cannot be edited.", code="archived")
    if complete:
        graph_validate(graph)
    else:
        graph_structure_validate(graph)
    Workflow.objects.select_for_update().filter(pk=workflow.pk).first()  # serialise numbering
    if revision is not None:
        current = latest_version(workflow)
        if revision != revision_of(current):
            raise _conflict(workspace, current)
    draft = draft_of(workflow)
    if draft is None:
        last = workflow.versions.order_by("-number").values_list("number", flat=True).first() or 0
        return WorkflowVersion.objects.create(
            workspace=workspace, workflow=workflow, number=last + 1, graph=graph, created_by=user
        )
    draft.graph = graph
    draft.created_by = user or draft.created_by
    draft.save(update_fields=["graph", "created_by", "updated_at"])
    return draft


class PublishRefused(Conflict):
    """Publishing needs an answer first: warnings to confirm, or where contacts waiting at
    removed steps should go. The body lists them."""

    def __init__(self, message: str, *, code: str, extra: dict[str, Any]):
        super().__init__(message, code=code)
        self.extra = extra

    def as_dict(self) -> dict[str, Any]:
        body = super().as_dict()
        body["error"].update(self.extra)
        return body


def _refuse_errors(report: Any) -> None:
    if report.errors:
        fields = dict(report.fields)
        first = report.errors[0]
        message = report.first or (
            f"Node '{first.node}': {first.message}" if first.node else first.message
        )
        raise GraphInvalid(f"Cannot publish: {message}", fields=fields, problems=report.errors)


def removed_nodes_waiting(
    *, workspace: Workspace, workflow: Workflow, graph: dict[str, Any]
) -> dict[str, int]:
    """Steps that have live runs (waiting or active) but are not in `graph`: node -> runs."""
    kept = {n.get("id") for n in graph.get("nodes", []) if isinstance(n, dict)}
    rows = (
        WorkflowRun.objects.for_workspace(workspace)
        .filter(workflow=workflow, status__in=LIVE_STATUSES)
        .exclude(current_node__in=kept)
        .values_list("current_node")
        .annotate(n=Count("id"))
    )
    return {node: n for node, n in rows}


KEEP = "keep"


def _move_runs(
    workspace: Workspace,
    workflow: Workflow,
    version: WorkflowVersion,
    waiting: dict[str, int],
    move: dict[str, str],
) -> None:
    """Move the runs at removed steps to the chosen step of the new version (or let them
    finish on their own version: "keep")."""
    missing = sorted(node for node in waiting if node not in move)
    if missing:
        total = sum(waiting[n] for n in missing)
        raise PublishRefused(
            f"{total} contact{'s are' if total != 1 else ' is'} still at "
            f"{', '.join(repr(n) for n in missing)}, which this version removes. Say where "
            'they should go (`move`: removed step → step of the new version, or "keep" to '
            "let them finish the version they started).",
            code="removed_node_has_runs",
            extra={"removed_nodes": [{"node": n, "waiting": waiting[n]} for n in missing]},
        )
    targets = {n["id"] for n in version.graph.get("nodes", [])}
    now = clock.now()
    for node, target in move.items():
        if node not in waiting or target == KEEP:
            continue
        if target not in targets:
            raise _invalid(f"move.{node}", f"no step {target!r} in the version being published.")
        runs = list(
            WorkflowRun.objects.for_workspace(workspace)
            .select_for_update()
            .filter(workflow=workflow, status__in=LIVE_STATUSES, current_node=node)
        )
        for run in runs:
            run.context.pop("wait", None)
            run.context.setdefault("moved", []).append({"from": node, "to": target})
        WorkflowRun.objects.bulk_update(runs, ["context"])
        WorkflowRun.objects.for_workspace(workspace).filter(pk__in=[r.pk for r in runs]).update(
            version=version,
            current_node=target,
            status=RunStatus.ACTIVE,
            next_step_at=now,
            lease=None,
            updated_at=now,
        )


@transaction.atomic
def workflow_publish(
    *,
    workspace: Workspace,
    workflow: Workflow,
    version: WorkflowVersion | None = None,
    confirm_warnings: bool = True,
    move: dict[str, str] | None = None,
) -> WorkflowVersion:
    """Validate the draft (or `version`) and make it current; a draft workflow becomes active.

    Errors refuse (GraphInvalid, listing every problem by node). Warnings (an event never
    received here …) refuse unless `confirm_warnings` — the API asks for it explicitly; the
    code paths that publish for a user who already confirmed pass the default. Contacts at
    steps the new version removes refuse unless `move` says where they go."""
    from .graph.validation import graph_report

    if workflow.status == Workflow.Status.ARCHIVED:
        raise Conflict("An archived workflow cannot be published.", code="archived")
    version = version or draft_of(workflow)
    if version is None:
        raise Conflict("There is no draft to publish.", code="no_draft")
    if version.workflow_id != workflow.pk:
        raise ValidationFailed(
            "version: that version belongs to another workflow.",
            fields={"version": ["not a version of this workflow."]},
        )
    report = graph_report(workspace=workspace, data=version.graph)
    _refuse_errors(report)
    if report.warnings and not confirm_warnings:
        raise PublishRefused(
            f"Please confirm: {report.warnings[0].message}",
            code="warnings_unconfirmed",
            extra={"warnings": [w.as_dict() for w in report.warnings]},
        )
    Workflow.objects.select_for_update().filter(pk=workflow.pk).first()
    waiting = removed_nodes_waiting(workspace=workspace, workflow=workflow, graph=version.graph)
    if waiting or move:
        _move_runs(workspace, workflow, version, waiting, move or {})
    if version.published_at is None:
        version.published_at = clock.now()
        version.save(update_fields=["published_at", "updated_at"])
    workflow.current_version = version
    first_activation = workflow.activated_at is None
    if workflow.status == Workflow.Status.DRAFT:
        workflow.status = Workflow.Status.ACTIVE
    if workflow.status == Workflow.Status.ACTIVE and first_activation:
        workflow.activated_at = clock.now()
    workflow.save()
    trigger_index_invalidate(workspace.pk)
    _snapshot_if_due(workspace, workflow)
    return version


def _snapshot_if_due(workspace: Workspace, workflow: Workflow) -> None:
    from .graph.graph import graph_for_version
    from .tasks import snapshot_enrol

    if (
        workflow.status != Workflow.Status.ACTIVE
        or workflow.snapshot_enrolled_at
        or workflow.current_version is None
    ):
        return
    if any(
        n.type == "trigger.segment_snapshot"
        for n in graph_for_version(workflow.current_version).triggers()
    ):
        transaction.on_commit(lambda: snapshot_enrol.delay(workspace.pk, workflow.pk))


@transaction.atomic
def workflow_pause(*, workspace: Workspace, workflow: Workflow) -> Workflow:
    """Stop enrolling and freeze every run where it is (waits stop counting down to a send:
    held runs are not claimed)."""
    if workflow.status != Workflow.Status.ACTIVE:
        raise Conflict(
            f"Only an active workflow can be paused (this one is {workflow.status}).",
            code="not_active",
        )
    workflow.status = Workflow.Status.PAUSED
    workflow.save(update_fields=["status", "updated_at"])
    WorkflowRun.objects.for_workspace(workspace).filter(
        workflow=workflow, status__in=LIVE_STATUSES
    ).update(held=True)
    trigger_index_invalidate(workspace.pk)
    return workflow


@transaction.atomic
def workflow_resume(*, workspace: Workspace, workflow: Workflow) -> Workflow:
    """Enrol again and release the runs: waits that ended while paused run at once."""
    if workflow.status != Workflow.Status.PAUSED:
        raise Conflict(
            f"Only a paused workflow can be resumed (this one is {workflow.status}).",
            code="not_paused",
        )
    workflow.status = Workflow.Status.ACTIVE
    workflow.save(update_fields=["status", "updated_at"])
    WorkflowRun.objects.for_workspace(workspace).filter(
        workflow=workflow, status__in=LIVE_STATUSES
    ).update(held=False)
    trigger_index_invalidate(workspace.pk)
    _snapshot_if_due(workspace, workflow)
    return workflow


@transaction.atomic
def workflow_archive(*, workspace: Workspace, workflow: Workflow) -> Workflow:
    """Stop the workflow for good: runs in flight exit."""
    now = clock.now()
    workflow.status = Workflow.Status.ARCHIVED
    workflow.save(update_fields=["status", "updated_at"])
    runs = list(
        WorkflowRun.objects.for_workspace(workspace)
        .select_for_update()
        .filter(workflow=workflow, status__in=LIVE_STATUSES)
    )
    logs = []
    for run in runs:
        logs.append(
            StepLog(
                workspace=workspace,
                run=run,
                workflow=workflow,
                contact_id=run.contact_id,
                node_id=run.current_node,
                node_type="",
                outcome=Outcome.EXITED,
                at=now,
                detail={"reason": "workflow archived"},
            )
        )
        finish(run, RunStatus.EXITED, now)
        run.updated_at = now
    WorkflowRun.objects.bulk_update(
        runs, ["status", "finished_at", "next_step_at", "lease", "error", "context", "updated_at"]
    )
    StepLog.objects.bulk_create(logs)
    run_events_record(workspace=workspace, exited=runs, names={workflow.pk: workflow.name}, now=now)
    trigger_index_invalidate(workspace.pk)
    return workflow


@transaction.atomic
@transaction.atomic
def split_winner_set(
    *, workspace: Workspace, workflow: Workflow, node_id: str, variant: str | None
) -> Workflow:
    """ "Send all future traffic to the winner": from now on every contact who reaches the A/B
    split `node_id` takes `variant` (in every version); None resumes the split. Only ever the
    marketer's explicit call — nothing picks a winner for a workflow on its own."""
    from .selectors import split_node_find
    from .splits import variant_names

    workflow = Workflow.objects.for_workspace(workspace).select_for_update().get(pk=workflow.pk)
    found = split_node_find(workflow=workflow, node_id=node_id)
    if found is None:
        raise _invalid("node", f"{node_id!r} is not an A/B split of this workflow.")
    winners = dict(workflow.split_winners or {})
    if variant is None:
        winners.pop(node_id, None)
    else:
        ports = variant_names(found[0].get("config") or {})
        if variant not in ports:
            raise _invalid("variant", f"must be one of the split's variants: {', '.join(ports)}.")
        winners[node_id] = variant
    workflow.split_winners = winners
    workflow.save(update_fields=["split_winners", "updated_at"])
    return workflow


def workflow_delete(*, workspace: Workspace, workflow: Workflow) -> None:
    if workflow.runs.exists():
        raise Conflict(
            "This workflow has runs; archive it instead of deleting it.", code="has_runs"
        )
    workflow.current_version = None
    workflow.save(update_fields=["current_version"])
    workflow.delete()
    trigger_index_invalidate(workspace.pk)


@transaction.atomic
def workflow_import(
    *,
    workspace: Workspace,
    document: dict[str, Any],
    user: User | None = None,
    name: str | None = None,
) -> Workflow:
    """Create a draft workflow from an exported / library JSON document:
    {"name", "description", "settings": {...}, "graph": {"nodes", "edges"}}."""
    if not isinstance(document, dict) or not isinstance(document.get("graph"), dict):
        raise _invalid("graph", "the document needs a `graph` with nodes and edges.")
    # A ready-made or shared document brings its templates, lists and segments (#16).
    document = document_resolve(workspace=workspace, doc=document)
    settings = dict(document.get("settings") or {})
    data = {
        **{k: v for k, v in settings.items() if k in SETTINGS_FIELDS},
        "name": name or document.get("name") or "Imported workflow",
        "description": document.get("description", ""),
    }
    return workflow_create(workspace=workspace, data=data, graph=document["graph"], user=user)


def workflow_export(
    *, workflow: Workflow, version: WorkflowVersion | None = None
) -> dict[str, Any]:
    version = version or workflow.current_version or draft_of(workflow)
    return {
        "name": workflow.name,
        "description": workflow.description,
        "settings": {
            key: getattr(workflow, key)
            for key in SETTINGS_FIELDS
            if key not in ("name", "description")
        },
        "graph": version.graph if version else {"nodes": [], "edges": []},
    }
