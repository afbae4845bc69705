"""What the builder shows next to a graph: its errors (which block publishing), its warnings
(which publishing asks to confirm) and a one-line summary per node — the same rules the
server applies at publish.

Errors come from the graph validator (workflows.graph.graph: structure, node configs against
their schemas and this workspace — templates, segments, lists, users that must exist —
reachability, loops without a wait). Warnings need data: an event a trigger or wait
listens for that this workspace has never received; a snapshot trigger (a send to
everyone in a segment) on a segment with nobody in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workspaces.models import Workspace

from .. import integrations
from .graph import Graph, Problem, graph_check
from .words import graph_summaries

EVENT_NODES = ("trigger.event", "wait.until_event")


@dataclass
class Report:
    graph: Graph
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    summaries: dict[str, str] = field(default_factory=dict)
    fields: dict[str, list[str]] = field(default_factory=dict)
    first: str | None = None

    @property
    def valid(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "errors": [p.as_dict() for p in self.errors],
            "warnings": [p.as_dict() for p in self.warnings],
            "summaries": self.summaries,
        }


def _never_received(workspace: Workspace, graph: Graph) -> list[Problem]:
    wanted: dict[str, list[str]] = {}
    for node in graph.nodes.values():
        name = node.config.get("event")
        if (
            node.type in EVENT_NODES
            and isinstance(name, str)
            and name
            and not name.startswith(integrations.PLATFORM_EVENT_PREFIXES)
            and name != "page"
        ):
            wanted.setdefault(name, []).append(node.id)
    if not wanted:
        return []
    known = {
        row[0] for row in integrations.event_definitions(workspace=workspace, names=list(wanted))
    }
    return [
        Problem(
            "event_never_received",
            f"This workspace has never received the event “{name}”: check its spelling, "
            "or confirm that it will be sent.",
            node_id,
            "config.event",
        )
        for name, node_ids in sorted(wanted.items())
        if name not in known
        for node_id in node_ids
    ]


def _empty_snapshots(workspace: Workspace, graph: Graph, errors: list[Problem]) -> list[Problem]:
    broken = {p.node for p in errors}
    found = []
    for node in graph.nodes.values():
        if node.type != "trigger.segment_snapshot" or node.id in broken:
            continue
        try:
            size = integrations.segment_size(workspace=workspace, segment_id=node.config["segment"])
        except KeyError:
            continue
        if size == 0:
            found.append(
                Problem(
                    "segment_empty",
                    "The segment has no contacts now: publishing would enrol nobody (a new segment "
                    "may still be computing).",
                    node.id,
                    "config.segment",
                )
            )
    return found


def graph_report(*, workspace: Workspace, data: Any) -> Report:
    """Errors, warnings and summaries of a graph in this workspace (raises nothing)."""
    graph, problems = graph_check(data, workspace=workspace)
    errors = list(problems.items)
    # A warning, not an error: a segment created a moment ago may still be computing.
    warnings = _never_received(workspace, graph) + _empty_snapshots(workspace, graph, errors)
    return Report(
        graph=graph,
        errors=errors,
        warnings=warnings,
        summaries=graph_summaries(workspace, graph),
        fields=dict(problems.fields),
        first=problems.first,
    )
