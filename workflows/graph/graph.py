"""A version's graph: parsing, validation against the node registry, and navigation.

`graph_validate(data, workspace=...)` is what the API and publish call: it raises
`ValidationFailed` whose message names the first bad node and whose `fields` hold every
problem, keyed `nodes.<id>` / `edges[<i>]` / `graph`. `Graph` is the parsed, navigable form
the engine uses (cached per published version: published graphs never change).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator

from workspaces.errors import ValidationFailed

from ..nodes import node_type
from ..nodes.base import Node, NodeType

if TYPE_CHECKING:
    from workspaces.models import Workspace

MAX_NODES = 500
NODE_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
_ID_RE = re.compile(NODE_ID_PATTERN)


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


# Problems that make a graph not a graph (the draft cannot even be stored); every other
# problem (an unconfigured node, no trigger yet, an unreachable step) is fine in a draft
# and only blocks publishing.
STRUCTURAL = frozenset(
    {"not_a_graph", "too_many_nodes", "bad_node", "duplicate_id", "unknown_type", "bad_edge"}
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a graph, in words, attached to a node when there is one."""

    code: str
    message: str
    node: str | None = None
    field: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"node": self.node, "code": self.code, "message": self.message, "field": self.field}


class _Problems:
    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = defaultdict(list)
        self.first: str | None = None
        self.broken: set[str] = set()  # declared nodes with their own errors (unknown type)
        self.items: list[Problem] = []

    def add(
        self,
        key: str,
        message: str,
        summary: str,
        *,
        code: str,
        node: str | None = None,
        words: str | None = None,
    ) -> None:
        self.fields[key].append(message)
        if self.first is None:
            self.first = summary
        field_path = None
        if message.startswith("config") and ":" in message:
            field_path = message.split(":", 1)[0]
        self.items.append(Problem(code, words or message, node, field_path))

    @property
    def structural(self) -> list[Problem]:
        return [p for p in self.items if p.code in STRUCTURAL]


def _describe(node_id: str, type_name: str) -> str:
    return f"Node '{node_id}' ({type_name})"


def _schema_errors(nt: NodeType, config: Any) -> list[tuple[str, str]]:
    """(technical message naming the config path, the same in words) per schema error."""
    validator = Draft202012Validator(nt.schema)
    errors = []
    for error in sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path)):
        where = ".".join(str(p) for p in error.absolute_path)
        path = f"config{'.' + where if where else ''}"
        errors.append((f"{path}: {error.message}", f"{path}: {_in_words(nt, error)}"))
    return errors


def _title(nt: NodeType, name: str) -> str:
    from ..nodes.forms import property_title

    return property_title(nt.type, name)


def _in_words(nt: NodeType, error: Any) -> str:
    """A JSON Schema error as a marketer would say it (the property's title, not its key)."""
    if error.validator == "required":
        missing = [name for name in error.validator_value if name not in (error.instance or {})]
        return f"{_title(nt, missing[0]) if missing else 'A setting'} is required."
    if error.validator == "additionalProperties":
        return f"unknown setting: {error.message.split('(')[-1].rstrip(')')}."
    if error.validator == "minProperties" and not error.absolute_path:
        return "this step is not configured yet."
    if error.validator == "enum":
        return f"choose one of {', '.join(str(v) for v in error.validator_value)}."
    if error.validator == "minItems" and error.validator_value == 1:
        return "add at least one."
    return str(error.message)


def _check_nodes(
    data: Mapping[str, Any], problems: _Problems, workspace: Workspace | None
) -> dict[str, Node]:
    nodes: dict[str, Node] = {}
    raw_nodes = data.get("nodes", [])
    if not isinstance(raw_nodes, list):
        problems.add(
            "graph",
            "nodes: expected a list of nodes.",
            "The graph's nodes are not a list.",
            code="not_a_graph",
        )
        return nodes
    if not raw_nodes:
        problems.add(
            "graph",
            "nodes: expected a non-empty list of nodes.",
            "The graph has no nodes.",
            code="no_trigger",
            words="The workflow is empty: start with a trigger.",
        )
        return nodes
    if len(raw_nodes) > MAX_NODES:
        problems.add(
            "graph",
            f"at most {MAX_NODES} nodes.",
            f"The graph has more than {MAX_NODES} nodes.",
            code="too_many_nodes",
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
                code="bad_node",
            )
            continue
        node_id, type_name = raw["id"], str(raw.get("type"))
        key = f"nodes.{node_id}"
        if node_id in nodes:
            problems.add(
                key,
                "this id is used by more than one node.",
                f"Node id '{node_id}' is used twice.",
                code="duplicate_id",
                node=node_id,
            )
            continue
        nt = node_type(type_name) if isinstance(type_name, str) else None
        if nt is None:
            problems.add(
                key,
                f"unknown node type {type_name!r}.",
                f"Node '{node_id}' has an unknown type {type_name!r}.",
                code="unknown_type",
                node=node_id,
            )
            problems.broken.add(node_id)
            continue
        config = raw.get("config", {})
        if config is None:
            config = {}
        if not isinstance(config, dict):
            problems.add(
                key,
                "config: expected an object.",
                f"{_describe(node_id, type_name)}: its config is not an object.",
                code="bad_node",
                node=node_id,
            )
            problems.broken.add(node_id)
            continue
        schema_errors = _schema_errors(nt, config)
        for message, words in schema_errors:
            problems.add(
                key,
                message,
                f"{_describe(node_id, type_name)}: {message}",
                code="unconfigured",
                node=node_id,
                words=words,
            )
        if not schema_errors and nt.check is not None:
            for message in nt.check(config, workspace):
                problems.add(
                    key,
                    message,
                    f"{_describe(node_id, type_name)}: {message}",
                    code=getattr(message, "code", "invalid_config"),
                    node=node_id,
                )
        nodes[node_id] = Node(id=node_id, type=type_name, config=config)
    return nodes


def _check_edges(
    data: Mapping[str, Any], nodes: dict[str, Node], problems: _Problems
) -> dict[tuple[str, str], str]:
    edges: dict[tuple[str, str], str] = {}
    raw_edges = data.get("edges", [])
    if not isinstance(raw_edges, list):
        problems.add(
            "graph", "edges: expected a list.", "The graph's edges are not a list.", code="bad_edge"
        )
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
                code="bad_edge",
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
                code="bad_edge",
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
                code="unknown_port",
                node=source,
            )
            continue
        if (source, port) in edges:
            problems.add(
                f"nodes.{source}",
                f"port {port!r} is connected twice.",
                f"{_describe(source, nodes[source].type)}: port {port!r} is connected twice.",
                code="port_twice",
                node=source,
            )
            continue
        if node_type(nodes[target].type).is_trigger:  # type: ignore[union-attr]
            problems.add(
                f"nodes.{target}",
                "a trigger starts the workflow: nothing may lead into it.",
                f"{_describe(target, nodes[target].type)} has an incoming edge; triggers start the workflow.",
                code="edge_into_trigger",
                node=target,
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
            code="no_trigger",
            words="The workflow has no trigger: add one to say who enters.",
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
                code="unreachable",
                node=node_id,
                words="No trigger leads to this step: connect it or delete it.",
            )
    cycle = _cycle_without_wait(graph)
    if cycle:
        path = " → ".join([*cycle, cycle[0]])
        problems.add(
            f"nodes.{cycle[0]}",
            f"is on a loop without a wait ({path}).",
            f"{_describe(cycle[0], graph.nodes[cycle[0]].type)} is on a loop without a wait: {path}.",
            code="loop_without_wait",
            node=cycle[0],
            words=f"This step is on a loop without a wait ({path}): add a wait to the loop.",
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


class GraphInvalid(ValidationFailed):
    """A graph with problems: the error body also lists them (`problems`), each with its
    node, code and message, so an editor can point at the node."""

    code = "graph_invalid"

    def __init__(self, message: str, *, fields: dict[str, Any], problems: list[Problem]):
        super().__init__(message, fields=fields)
        self.problems = problems

    def as_dict(self) -> dict[str, Any]:
        body = super().as_dict()
        body["error"]["problems"] = [p.as_dict() for p in self.problems]
        return body


def graph_check(data: Any, *, workspace: Workspace | None = None) -> tuple[Graph, _Problems]:
    """Every problem of a graph (none raised) and the parsed graph of its sound parts."""
    problems = _Problems()
    if not isinstance(data, dict):
        problems.add(
            "graph",
            "expected an object with `nodes` and `edges`.",
            "The graph must be an object with `nodes` and `edges`.",
            code="not_a_graph",
        )
        return Graph(nodes={}), problems
    unknown = set(data) - {"nodes", "edges", "layout"}
    if unknown:
        problems.add(
            "graph",
            f"unknown keys: {', '.join(sorted(unknown))}.",
            f"The graph has unknown keys: {', '.join(sorted(unknown))}.",
            code="not_a_graph",
        )
    nodes = _check_nodes(data, problems, workspace)
    edges = _check_edges(data, nodes, problems)
    if nodes and not problems.fields.get("graph"):
        _check_shape(Graph(nodes=nodes, edges=edges), problems)
    return Graph(nodes=nodes, edges=edges), problems


def _raise(problems: _Problems, items: list[Problem]) -> None:
    raise GraphInvalid(
        problems.first or "The graph is not valid.", fields=dict(problems.fields), problems=items
    )


def graph_validate(data: Any, *, workspace: Workspace | None = None) -> Graph:
    """Validate a graph against the registry; return it parsed or raise ValidationFailed."""
    graph, problems = graph_check(data, workspace=workspace)
    if problems.fields:
        _raise(problems, problems.items)
    return graph


def graph_structure_validate(data: Any) -> Graph:
    """What a draft must be: a graph (nodes with ids and known types, edges between them).

    Anything else — unconfigured steps, no trigger yet, an unreachable step — is allowed in
    a draft (autosave stores work in progress) and blocks only publishing."""
    graph, problems = graph_check(data)
    structural = problems.structural
    if structural:
        first = structural[0]
        raise GraphInvalid(
            f"The draft is not a workflow graph: {first.message}",
            fields={
                key: messages
                for key, messages in problems.fields.items()
                if key.startswith(("graph", "edges", "nodes["))
                or any(p.node and key == f"nodes.{p.node}" for p in structural)
            },
            problems=structural,
        )
    return graph
