"""Reads for workflows: lists with counts, per-node numbers, runs, a contact's activity."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet

from workspaces.models import Workspace

from . import integrations
from .graph.graph import Graph, graph_for_version
from .models import (
    HOLDOUT,
    LIVE_STATUSES,
    MOVED_ON,
    Outcome,
    RunStatus,
    StepLog,
    Workflow,
    WorkflowRun,
    WorkflowVersion,
)
from .splits import SplitDecision, split_decision

FINISHED = (RunStatus.COMPLETED, RunStatus.EXITED, RunStatus.CONVERTED, RunStatus.FAILED)


def workflow_list(*, workspace: Workspace, status: str | None = None) -> QuerySet[Workflow]:
    """Workflows with their run counts (one query)."""
    qs = (
        Workflow.objects.for_workspace(workspace)
        .select_related("current_version")
        .annotate(
            runs_total=Count("runs"),
            runs_live=Count("runs", filter=Q(runs__status__in=LIVE_STATUSES)),
            runs_converted=Count("runs", filter=Q(runs__status=RunStatus.CONVERTED)),
            runs_failed=Count("runs", filter=Q(runs__status=RunStatus.FAILED)),
        )
        .order_by("-updated_at", "-id")
    )
    return qs.filter(status=status) if status else qs


def workflow_draft(*, workflow: Workflow) -> WorkflowVersion | None:
    return workflow.versions.filter(published_at__isnull=True).order_by("-number").first()


def workflow_versions(*, workflow: Workflow) -> QuerySet[WorkflowVersion]:
    return workflow.versions.annotate(runs_count=Count("runs")).order_by("-number")


def run_counts(*, workflow: Workflow) -> dict[str, int]:
    rows = (
        WorkflowRun.objects.for_workspace(workflow.workspace_id)
        .filter(workflow=workflow)
        .values("status")
        .annotate(n=Count("id"))
    )
    counts = {status: 0 for status in RunStatus.values}
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


@dataclass
class NodeStats:
    node_id: str
    type: str
    label: str
    entered: int = 0  # runs that reached the node
    completed: int = 0  # moved on from it
    waiting: int = 0  # live runs resting here (a wait, a deferred send)
    active: int = 0  # live runs due or in progress here (incl. retrying)
    ended: dict[str, int] = field(default_factory=dict)  # finished runs that ended here, by status
    # A message node's `sent` counts what the provider accepted (its messages' sent_at), not
    # what the node queued: a send that failed or whose outcome is unknown is not counted.
    sent: int = 0
    queued: int = 0  # messages the node handed to messaging (its "sent" step logs)
    skipped: int = 0
    retries: int = 0
    messages: dict[str, Any] = field(default_factory=dict)  # delivery / open / click counts
    failed_steps: int = 0  # steps that failed here for good (the run failed at this node)
    arms: dict[str, int] = field(default_factory=dict)  # branches: runs per port taken

    @property
    def exited(self) -> int:
        return sum(self.ended.values())

    @property
    def failed(self) -> int:
        return self.ended.get(RunStatus.FAILED, 0)

    def rate(self, key: str) -> float | None:
        sent = self.messages.get("sent") or self.sent
        value = self.messages.get(key)
        return round(100.0 * value / sent, 1) if sent and value is not None else None

    @property
    def rate_delivered(self) -> float | None:
        return self.rate("delivered")

    @property
    def rate_opened(self) -> float | None:
        return self.rate("opened")

    @property
    def rate_clicked(self) -> float | None:
        return self.rate("clicked")

    def as_dict(self) -> dict[str, Any]:
        rates = {
            f"{k}_rate": self.rate(k)
            for k in ("delivered", "opened", "clicked")
            if k in self.messages
        }
        return {
            "node": self.node_id,
            "type": self.type,
            "entered": self.entered,
            "completed": self.completed,
            "waiting": self.waiting,
            "active": self.active,
            "exited": self.exited,
            "failed": self.failed,
            "ended": self.ended,
            "sent": self.sent,
            "queued": self.queued,
            "skipped": self.skipped,
            "retries": self.retries,
            "messages": self.messages,
            **rates,
        }

    def overlay(self, port_labels: dict[str, str]) -> dict[str, Any]:
        """The builder's numbers on a node: entered / waiting / completed / failed, the share
        of each arm, and for sends sent / delivered / open and click rates."""
        total = sum(self.arms.values())
        messages = None
        if self.type in ("action.email", "action.sms"):
            counts = self.messages or {}
            sent = counts.get("sent", 0)
            messages = {
                "sent": sent,
                "delivered": counts.get("delivered", 0),
                "opened": counts.get("opened", 0),
                "clicked": counts.get("clicked", 0),
                "bounced": counts.get("bounced", 0),
                "delivered_rate": self.rate("delivered"),
                "open_rate": self.rate("opened"),
                "click_rate": self.rate("clicked"),
            }
        return {
            "node": self.node_id,
            "type": self.type,
            "label": self.label,
            "entered": self.entered,
            "waiting": self.waiting + self.active,
            "completed": self.completed,
            "failed": self.failed_steps,
            "arms": [
                {
                    "port": port,
                    "label": port_labels.get(port, port),
                    "count": count,
                    "share": round(100.0 * count / total, 1) if total else None,
                }
                for port, count in self.arms.items()
            ],
            "messages": messages,
        }


def node_stats(
    *,
    workflow: Workflow,
    graph: Graph | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, NodeStats]:
    """Per-node numbers of a workflow (all versions together), in the graph's node order.

    With `since` / `until`, what happened in that time (steps, messages created); waiting
    and active are always now."""
    if graph is None:
        version = workflow.current_version or workflow_draft(workflow=workflow)
        graph = graph_for_version(version) if version else Graph(nodes={})
    from .nodes import node_type

    stats: dict[str, NodeStats] = {}
    for node in graph.nodes.values():
        spec = node_type(node.type)
        stats[node.id] = NodeStats(node.id, node.type, spec.label if spec else node.type)

    def get(node_id: str, node_type_name: str = "") -> NodeStats:
        if node_id not in stats:  # a node of an older version
            stats[node_id] = NodeStats(node_id, node_type_name, node_type_name)
        return stats[node_id]

    logs = StepLog.objects.for_workspace(workflow.workspace_id).filter(workflow=workflow)
    if since is not None:
        logs = logs.filter(at__gte=since)
    if until is not None:
        logs = logs.filter(at__lt=until)
    for row in logs.values("node_id", "node_type").annotate(runs=Count("run_id", distinct=True)):
        get(row["node_id"], row["node_type"]).entered = row["runs"]
    for row in logs.values("node_id", "outcome").annotate(n=Count("id")):
        item = get(row["node_id"])
        if row["outcome"] in MOVED_ON or row["outcome"] == Outcome.CONVERTED:
            item.completed += row["n"]
        if row["outcome"] == Outcome.SENT:
            item.queued += row["n"]
            item.sent += row["n"]
        elif row["outcome"] == Outcome.SKIPPED:
            item.skipped += row["n"]
        elif row["outcome"] == Outcome.RETRY:
            item.retries += row["n"]
        elif row["outcome"] == Outcome.FAILED:
            item.failed_steps += row["n"]
    branches = [s.node_id for s in stats.values() if s.type.startswith("branch.")]
    if branches:
        arms = (
            logs.filter(node_id__in=branches, outcome=Outcome.PASSED)
            .exclude(port="")
            .values("node_id", "port")
            .annotate(n=Count("id"))
            .order_by("node_id", "port")
        )
        for row in arms:
            get(row["node_id"]).arms[row["port"]] = row["n"]
    runs = WorkflowRun.objects.for_workspace(workflow.workspace_id).filter(workflow=workflow)
    for row in runs.values("current_node", "status").annotate(n=Count("id")):
        item = get(row["current_node"])
        if row["status"] == RunStatus.WAITING:
            item.waiting += row["n"]
        elif row["status"] == RunStatus.ACTIVE:
            item.active += row["n"]
        else:
            item.ended[row["status"]] = item.ended.get(row["status"], 0) + row["n"]
    message_nodes = [s.node_id for s in stats.values() if s.type in ("action.email", "action.sms")]
    if message_nodes:
        for node_id, counts in integrations.message_stats(
            workflow=workflow, node_ids=message_nodes, since=since, until=until
        ).items():
            get(node_id).messages = counts
        for node_id in message_nodes:
            stats[node_id].sent = stats[node_id].messages.get("sent", 0)
    return stats


def runs_for_workflow(*, workflow: Workflow, status: str | None = None) -> QuerySet[WorkflowRun]:
    qs = (
        WorkflowRun.objects.for_workspace(workflow.workspace_id)
        .filter(workflow=workflow)
        .select_related("contact", "version")
    )
    return qs.filter(status=status) if status else qs


def run_steps(*, run: WorkflowRun) -> QuerySet[StepLog]:
    return StepLog.objects.for_workspace(run.workspace_id).filter(run=run).order_by("at", "id")


def contact_workflow_activity(
    *, workspace: Workspace, contact_id: int, limit: int = 100
) -> list[StepLog]:
    """The contact's recent workflow steps, newest first (for the contact's timeline)."""
    return list(
        StepLog.objects.for_workspace(workspace)
        .filter(contact_id=contact_id)
        .select_related("workflow")
        .order_by("-at", "-id")[:limit]
    )


NODE_CONTACT_STATES = ("at", "entered", "completed", "failed")


def node_contacts(
    *,
    workflow: Workflow,
    node_id: str,
    state: str = "at",
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[WorkflowRun]:
    """The runs at a node now (`at`: live runs resting or due there), or that entered /
    moved on from / failed at it (in the time range), newest first, with their contacts."""
    runs = WorkflowRun.objects.for_workspace(workflow.workspace_id).filter(workflow=workflow)
    if state == "at":
        runs = runs.filter(current_node=node_id, status__in=LIVE_STATUSES)
    else:
        logs = StepLog.objects.for_workspace(workflow.workspace_id).filter(
            workflow=workflow, node_id=node_id
        )
        if state == "completed":
            logs = logs.filter(outcome__in=[*MOVED_ON, Outcome.CONVERTED])
        elif state == "failed":
            logs = logs.filter(outcome=Outcome.FAILED)
        if since is not None:
            logs = logs.filter(at__gte=since)
        if until is not None:
            logs = logs.filter(at__lt=until)
        runs = runs.filter(pk__in=logs.values("run_id"))
    return runs.select_related("contact").order_by("-id")


def workflow_entries(
    *, workspace: Workspace, workflow_id: int, start: datetime, end: datetime
) -> QuerySet[WorkflowRun]:
    """Every entry into a workflow in [start, end) — run, contact, when — with `held_out`
    marking the workflow's holdout (their run ended at once, exit reason "holdout")."""
    from django.db.models import BooleanField, ExpressionWrapper
    from django.db.models.fields.json import KeyTextTransform

    return (
        WorkflowRun.objects.for_workspace(workspace)
        .filter(workflow_id=workflow_id, created_at__gte=start, created_at__lt=end)
        .alias(exit_reason=KeyTextTransform("exit_reason", "context"))
        .annotate(
            held_out=ExpressionWrapper(
                Q(status=RunStatus.EXITED) & Q(exit_reason=HOLDOUT), output_field=BooleanField()
            )
        )
    )


# --- A/B splits: each split node's results and the call on them ---------------------------


def _split_nodes(graph: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        node
        for node in graph.get("nodes") or []
        if isinstance(node, dict) and node.get("type") == "branch.ab"
    ]


def split_decisions(
    *, workflow: Workflow, since: datetime | None = None, until: datetime | None = None
) -> list[SplitDecision]:
    """Every A/B split of the workflow's current version (else its draft): per variant who
    entered and succeeded, chance to be best, and the call (workflows/splits.py)."""
    version = workflow.current_version or workflow_draft(workflow=workflow)
    graph = version.graph if version is not None else {}
    return [
        split_decision(workflow=workflow, node=node, graph=graph, since=since, until=until)
        for node in _split_nodes(graph)
    ]


def split_node_find(
    *, workflow: Workflow, node_id: str
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(node, graph) of an A/B split: as the current version has it, else as the draft has it
    (a split added since publishing); None: the workflow has no such split."""
    for version in (workflow.current_version, workflow_draft(workflow=workflow)):
        graph = version.graph if version is not None else {}
        for node in _split_nodes(graph):
            if node.get("id") == node_id:
                return node, graph
    return None


def split_node_decision(
    *,
    workflow: Workflow,
    node_id: str,
    since: datetime | None = None,
    until: datetime | None = None,
) -> SplitDecision | None:
    """One A/B split node's decision (None: no such split)."""
    found = split_node_find(workflow=workflow, node_id=node_id)
    if found is None:
        return None
    node, graph = found
    return split_decision(workflow=workflow, node=node, graph=graph, since=since, until=until)
