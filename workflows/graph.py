"""A version's graph: parsing, validation against the node registry, and navigation.

`graph_validate(data, workspace=...)` is what the API and publish call: it raises
`ValidationFailed` whose message names the first bad node and whose `fields` hold every
problem, keyed `nodes.<id>` / `edges[<i>]` / `graph`. `Graph` is the parsed, navigable form
the engine uses (cached per published version: published graphs never change).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator

from workspaces.errors import ValidationFailed

from .nodes import node_type
from .nodes.base import Node, NodeType

if TYPE_CHECKING:
    from workspaces.models import Workspace

MAX_NODES = 500
NODE_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
_ID_RE = __import__("re").compile(NODE_ID_PATTERN)


@dataclass
class Graph:
    nodes: dict[str, Node]
    # (source, port) -> target
    edges: dict[tuple[str, str], str] = field(default_factory=dict)
    _goal_ancestors: dict[str, set[str]] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Graph:
        """Parse an already-validated graph."""
        nodes = {
            n["id"]: Node(id=n["id"], type=n["type"], config=n.get("config") or {})
            for n in data.get("nodes", [])
        }
        edges = {
            (e["source"], e.get("port") or "default"): e["target"] for e in data.get("edges", [])
        }
        return cls(nodes=nodes, edges=edges)

    def node(self, node_id: str) -> Node:
        return self.nodes[node_id]

    def type_of(self, node_id: str) -> NodeType:
        found = node_type(self.nodes[node_id].type)
        assert found is not None  # validated on save
        return found

    def next(self, node_id: str, port: str) -> str | None:
        return self.edges.get((node_id, port))

    def triggers(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.type.startswith("trigger.")]

    def successors(self, node_id: str) -> list[str]:
        return [target for (source, _), target in self.edges.items() if source == node_id]

    def reachable_from(self, start: str) -> set[str]:
        seen, stack = {start}, [start]
        while stack:
            for nxt in self.successors(stack.pop()):
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return seen

    def goal_ancestors(self) -> dict[str, set[str]]:
        """goal node id -> the nodes from which it can be reached (a contact there may jump)."""
        if self._goal_ancestors is None:
            goals = [n.id for n in self.nodes.values() if n.type == "goal"]
            self._goal_ancestors = {
                goal: {
                    nid for nid in self.nodes if nid != goal and goal in self.reachable_from(nid)
                }
                for goal in goals
            }
        return self._goal_ancestors


_published: dict[int, Graph] = {}
CACHE_SIZE = 1000


def graph_for_version(version: Any) -> Graph:
    """The parsed graph of a version — cached by id once published, since a published
    version never changes (drafts are parsed every time)."""
    if version.published_at is None:
        return Graph.parse(version.graph)
    found = _published.get(version.pk)
    if found is None:
        if len(_published) >= CACHE_SIZE:
            _published.clear()
        found = _published[version.pk] = Graph.parse(version.graph)
    return found


# --- validation -----------------------------------------------------------------------------


class _Problems:
    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = defaultdict(list)
        self.first: str | None = None
        self.broken: set[str] = set()  # declared nodes with their own errors (unknown type)

    def add(self, key: str, message: str, summary: str) -> None:
        self.fields[key].append(message)
        if self.first is None:
            self.first = summary


def _describe(node_id: str, type_name: str) -> str:
    return f"Node '{node_id}' ({type_name})"


def _schema_errors(nt: NodeType, config: Any) -> list[str]:
    validator = Draft202012Validator(nt.schema)
    errors = []
    for error in sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path)):
        where = ".".join(str(p) for p in error.absolute_path)
        errors.append(f"config{'.' + where if where else ''}: {error.message}")
    return errors


def _check_nodes(
    data: Mapping[str, Any], problems: _Problems, workspace: Workspace | None
) -> dict[str, Node]:
    nodes: dict[str, Node] = {}
    raw_nodes = data.get("nodes")
    if not isinstance(raw_nodes, list) or not raw_nodes:
        problems.add(
            "graph", "nodes: expected a non-empty list of nodes.", "The graph has no nodes."
        )
        return nodes
    if len(raw_nodes) > MAX_NODES:
        problems.add(
            "graph", f"at most {MAX_NODES} nodes.", f"The graph has more than {MAX_NODES} nodes."
        )
    for index, raw in enumerate(raw_nodes):
        if (
            not isinstance(raw, dict)
            or not isinstance(raw.get("id"), str)
            or not _ID_RE.match(raw["id"])
        ):
            problems.add(
                f"nodes[{index}]",
                "each node needs an `id` of 1-64 letters, digits or _ . : -.",
                f"Node #{index + 1} has no valid id.",
            )
            continue
        node_id, type_name = raw["id"], str(raw.get("type"))
        key = f"nodes.{node_id}"
        if node_id in nodes:
            problems.add(
                key, "this id is used by more than one node.", f"Node id '{node_id}' is used twice."
            )
            continue
        nt = node_type(type_name) if isinstance(type_name, str) else None
        if nt is None:
            problems.add(
                key,
                f"unknown node type {type_name!r}.",
                f"Node '{node_id}' has an unknown type {type_name!r}.",
            )
            problems.broken.add(node_id)
            continue
        config = raw.get("config", {})
        if config is None:
            config = {}
        errors = _schema_errors(nt, config)
        if not errors and nt.check is not None:
            errors = nt.check(config, workspace)
        for message in errors:
            problems.add(key, message, f"{_describe(node_id, type_name)}: {message}")
        nodes[node_id] = Node(id=node_id, type=type_name, config=config)
    return nodes


def _check_edges(
    data: Mapping[str, Any], nodes: dict[str, Node], problems: _Problems
) -> dict[tuple[str, str], str]:
    edges: dict[tuple[str, str], str] = {}
    raw_edges = data.get("edges", [])
    if not isinstance(raw_edges, list):
        problems.add("graph", "edges: expected a list.", "The graph's edges are not a list.")
        return edges
    for index, raw in enumerate(raw_edges):
        key = f"edges[{index}]"
        if (
            not isinstance(raw, dict)
            or not isinstance(raw.get("source"), str)
            or not isinstance(raw.get("target"), str)
        ):
            problems.add(
                key,
                "an edge needs `source` and `target` node ids.",
                f"Edge #{index + 1} is malformed.",
            )
            continue
        source, target, port = raw["source"], raw["target"], raw.get("port") or "default"
        if source in problems.broken or target in problems.broken:
            continue
        if source not in nodes or target not in nodes:
            missing = source if source not in nodes else target
            problems.add(
                key,
                f"points at node '{missing}', which does not exist.",
                f"Edge #{index + 1} ({source} → {target}) points at a node that does not exist: '{missing}'.",
            )
            continue
        nt = node_type(nodes[source].type)
        assert nt is not None
        allowed = nt.ports_for(nodes[source].config)
        if port not in allowed:
            problems.add(
                f"nodes.{source}",
                f"has no output port {port!r} (its ports: {', '.join(allowed) or 'none'}).",
                f"{_describe(source, nodes[source].type)} has no output port {port!r}.",
            )
            continue
        if (source, port) in edges:
            problems.add(
                f"nodes.{source}",
                f"port {port!r} is connected twice.",
                f"{_describe(source, nodes[source].type)}: port {port!r} is connected twice.",
            )
            continue
        if node_type(nodes[target].type).is_trigger:  # type: ignore[union-attr]
            problems.add(
                f"nodes.{target}",
                "a trigger starts the workflow: nothing may lead into it.",
                f"{_describe(target, nodes[target].type)} has an incoming edge; triggers start the workflow.",
            )
            continue
        edges[(source, port)] = target
    return edges


def _check_shape(graph: Graph, problems: _Problems) -> None:
    triggers = graph.triggers()
    if not triggers:
        problems.add(
            "graph",
            "a workflow needs at least one trigger node.",
            "The workflow has no trigger: add a trigger.* node.",
        )
        return
    reachable: set[str] = set()
    for trigger in triggers:
        reachable |= graph.reachable_from(trigger.id)
    for node_id, node in graph.nodes.items():
        if node_id not in reachable:
            problems.add(
                f"nodes.{node_id}",
                "no trigger leads to this node.",
                f"{_describe(node_id, node.type)} is unreachable from every trigger.",
            )
    cycle = _cycle_without_wait(graph)
    if cycle:
        path = " → ".join([*cycle, cycle[0]])
        problems.add(
            f"nodes.{cycle[0]}",
            f"is on a loop without a wait ({path}).",
            f"{_describe(cycle[0], graph.nodes[cycle[0]].type)} is on a loop without a wait: {path}.",
        )


def _cycle_without_wait(graph: Graph) -> list[str] | None:
    """A cycle that passes through no wait node (it would spin forever), or None."""
    plain = {nid for nid, node in graph.nodes.items() if not node.type.startswith("wait.")}
    adjacency = {nid: [t for t in graph.successors(nid) if t in plain] for nid in plain}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(nid: str) -> list[str] | None:
        state[nid] = 1
        stack.append(nid)
        for nxt in adjacency[nid]:
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[nid] = 2
        return None

    for nid in sorted(plain):
        if nid not in state:
            found = visit(nid)
            if found:
                return found
    return None


def graph_validate(data: Any, *, workspace: Workspace | None = None) -> Graph:
    """Validate a graph against the registry; return it parsed or raise ValidationFailed."""
    problems = _Problems()
    if not isinstance(data, dict):
        raise ValidationFailed(
            "The graph must be an object with `nodes` and `edges`.",
            fields={"graph": ["expected an object with `nodes` and `edges`."]},
        )
    unknown = set(data) - {"nodes", "edges", "layout"}
    if unknown:
        problems.add(
            "graph",
            f"unknown keys: {', '.join(sorted(unknown))}.",
            f"The graph has unknown keys: {', '.join(sorted(unknown))}.",
        )
    nodes = _check_nodes(data, problems, workspace)
    edges = _check_edges(data, nodes, problems)
    if nodes and not problems.fields.get("graph"):
        _check_shape(Graph(nodes=nodes, edges=edges), problems)
    if problems.fields:
        raise ValidationFailed(
            problems.first or "The graph is not valid.", fields=dict(problems.fields)
        )
    return Graph(nodes=nodes, edges=edges)
