"""Who can enter a workflow, in words and in numbers — what the builder shows before
publishing: the triggers as sentences, the re-entry rule, and how many contacts match now.

"Match now" is counted with the segment filter language (one SQL statement through
segments' filter_count): a segment trigger counts the segment's members; an event trigger
counts contacts who performed the event (with its property conditions) in the last 30
days; a date anniversary counts contacts who have the date; a trigger's own filter narrows
each. Triggers with no population to count (API enrolment) say so.
"""

from __future__ import annotations

from typing import Any

from workspaces.errors import TendrilError
from workspaces.models import Workspace

from . import integrations
from .graph.graph import Graph
from .graph.validation import graph_report
from .graph.words import Names, node_summary, reentry_words
from .models import Workflow, WorkflowVersion
from .nodes.base import Node

RECENT_DAYS = 30
# Platform events a trigger listens to (the trigger's own config narrows them further,
# which the count cannot: it says "at most").
EVENT_OF_TRIGGER = {
    "trigger.form_submitted": integrations.FORM_SUBMITTED,
    "trigger.lifecycle_changed": integrations.LIFECYCLE_CHANGED,
    "trigger.score_threshold": integrations.SCORE_CHANGED,
    "trigger.browse_abandoned": integrations.BROWSE_ABANDONED,
    "trigger.back_in_stock": integrations.BACK_IN_STOCK,
    "trigger.price_drop": integrations.PRICE_DROPPED,
}


def _population(node: Node) -> tuple[dict[str, Any] | None, str, bool]:
    """(filter tree of who matches now, what it counts in words, exact?) for a trigger."""
    config = node.config
    if node.type in ("trigger.segment_entered", "trigger.segment_snapshot"):
        return {"segment": config.get("segment")}, "in the segment now", True
    if node.type == "trigger.segment_exited":
        return (
            {"not": {"segment": config.get("segment")}},
            "outside the segment now",
            False,
        )
    if node.type == "trigger.event":
        condition: dict[str, Any] = {"event": config.get("event"), "within_days": RECENT_DAYS}
        if config.get("where"):
            condition["where"] = config["where"]
        return condition, f"did it in the last {RECENT_DAYS} days", True
    if node.type in EVENT_OF_TRIGGER:
        return (
            {"event": EVENT_OF_TRIGGER[node.type], "within_days": RECENT_DAYS},
            f"had a “{EVENT_OF_TRIGGER[node.type]}” in the last {RECENT_DAYS} days (at most)",
            False,
        )
    if node.type == "trigger.date_anniversary":
        return {"field": config.get("attribute"), "op": "exists"}, "have this date", True
    if node.type == "trigger.field_changed":
        return {"all": []}, "could have the field change (every contact)", False
    return None, "enrolled one by one through the API: no population to count", False


def _with_filter(tree: dict[str, Any], node: Node) -> dict[str, Any]:
    extra = node.config.get("filter")
    return {"all": [tree, extra]} if extra else tree


def _count(workspace: Workspace, tree: dict[str, Any]) -> int | None:
    try:
        return integrations.filter_count(workspace=workspace, tree=tree)
    except TendrilError:
        return None  # e.g. the trigger is not configured yet: validation says why


def publish_summary(
    *, workspace: Workspace, workflow: Workflow, version: WorkflowVersion | None
) -> dict[str, Any]:
    from .services import removed_nodes_waiting

    data = version.graph if version else {"nodes": [], "edges": []}
    report = graph_report(workspace=workspace, data=data)
    graph: Graph = report.graph
    names = Names.for_graph(workspace, graph)
    triggers, trees, exact = [], [], True
    for node in graph.triggers():
        tree, basis, node_exact = _population(node)
        count = _count(workspace, _with_filter(tree, node)) if tree is not None else None
        triggers.append(
            {
                "node": node.id,
                "text": node_summary(node.type, node.config, names),
                "matching_now": count,
                "basis": basis,
            }
        )
        if tree is not None:
            trees.append(_with_filter(tree, node))
        exact = exact and node_exact and count is not None
    total = _count(workspace, {"any": trees}) if trees else None
    if total is None:
        text = "No count: these triggers enrol contacts one by one."
    else:
        text = f"{total} contact{'s' if total != 1 else ''} match now" + (
            "" if exact else " (an estimate: the trigger decides when it fires)"
        )
    waiting = removed_nodes_waiting(workspace=workspace, workflow=workflow, graph=data)
    return {
        "version": version.number if version else None,
        "entry": {
            "text": "; or ".join(str(t["text"]) for t in triggers) or "No trigger yet.",
            "triggers": triggers,
        },
        "reentry": {
            "code": workflow.reentry,
            "text": reentry_words(workflow.reentry, workflow.reentry_days),
        },
        "matching_now": {"count": total, "exact": exact, "text": text},
        "validation": report.as_dict(),
        "removed_nodes": [{"node": n, "waiting": count} for n, count in sorted(waiting.items())],
    }
