"""A read-only drawing of a workflow graph: layered top to bottom, as SVG coordinates.

Layers are the longest path from a trigger (edges that close a loop — always through a
wait — are drawn as back edges on the side); within a layer, nodes keep the order of
their parents so that branches fan out under their split.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .graph import Graph

NODE_W, NODE_H = 230, 96
GAP_X, GAP_Y = 36, 64
MARGIN = 24
KINDS = {
    "trigger": "trigger",
    "wait": "wait",
    "branch": "branch",
    "action": "action",
    "goal": "goal",
}


@dataclass
class Box:
    id: str
    type: str
    kind: str
    label: str
    summary: str
    x: int = 0
    y: int = 0
    stats: Any = None

    @property
    def cx(self) -> int:
        return self.x + NODE_W // 2


@dataclass
class Line:
    path: str
    port: str
    label_x: int
    label_y: int
    back: bool = False


@dataclass
class Drawing:
    boxes: list[Box] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    width: int = 0
    height: int = 0
    node_w: int = NODE_W
    node_h: int = NODE_H


def _back_edges(graph: Graph) -> set[tuple[str, str]]:
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}

    def visit(node_id: str) -> None:
        state[node_id] = 1
        for target in graph.successors(node_id):
            if state.get(target) == 1:
                back.add((node_id, target))
            elif target not in state:
                visit(target)
        state[node_id] = 2

    for trigger in graph.triggers():
        if trigger.id not in state:
            visit(trigger.id)
    for node_id in graph.nodes:
        if node_id not in state:
            visit(node_id)
    return back


def _layers(graph: Graph, back: set[tuple[str, str]]) -> dict[str, int]:
    depth = {node_id: 0 for node_id in graph.nodes}
    for _ in range(len(graph.nodes)):
        changed = False
        for (source, _port), target in graph.edges.items():
            if (source, target) in back:
                continue
            if depth[target] < depth[source] + 1:
                depth[target] = depth[source] + 1
                changed = True
        if not changed:
            break
    return depth


def _summary(node_type: str, config: dict[str, Any]) -> str:
    if node_type == "trigger.event":
        return str(config.get("event", ""))
    if node_type in ("wait.duration",):
        parts = [
            f"{config[k]:g} {k}" for k in ("days", "hours", "minutes", "seconds") if config.get(k)
        ]
        return ", ".join(parts)
    if node_type == "wait.until_event":
        return f"until {config.get('event', '')}"
    if node_type in ("action.tag_add", "action.tag_remove"):
        return ", ".join(config.get("tags", []))
    if node_type == "action.update_field":
        return f"{config.get('field')} {config.get('op', 'set')} {config.get('value', '')}".strip()
    if node_type == "action.webhook":
        return str(config.get("url", ""))[:40]
    if node_type == "action.score_change":
        return f"{config.get('points', 0):+d} points"
    if node_type == "action.lifecycle_set":
        return f"→ {config.get('stage', '')}"
    if node_type == "branch.ab":
        return " / ".join(f"{v['name']} {v['weight']}" for v in config.get("variants", []))
    if node_type == "trigger.score_threshold":
        return f"score ≥ {config.get('threshold')}"
    return ""


def graph_drawing(graph: Graph, stats: dict[str, Any] | None = None) -> Drawing:
    from ..nodes import node_type

    back = _back_edges(graph)
    depth = _layers(graph, back)
    rows: dict[int, list[str]] = {}
    for node_id in graph.nodes:  # document order first
        rows.setdefault(depth[node_id], []).append(node_id)
    position: dict[str, float] = {}
    for level in sorted(rows):
        if level > 0:

            def parent_pos(node_id: str) -> float:
                parents = [
                    position[s]
                    for (s, _), t in graph.edges.items()
                    if t == node_id and s in position and (s, t) not in back
                ]
                return sum(parents) / len(parents) if parents else 0.0

            rows[level].sort(key=parent_pos)
        for index, node_id in enumerate(rows[level]):
            position[node_id] = index - (len(rows[level]) - 1) / 2
    widest = max(len(r) for r in rows.values()) if rows else 1
    drawing = Drawing()
    boxes: dict[str, Box] = {}
    for node_id, node in graph.nodes.items():
        spec = node_type(node.type)
        box = Box(
            id=node_id,
            type=node.type,
            kind=KINDS.get(node.type.split(".")[0], "action"),
            label=spec.label if spec else node.type,
            summary=_summary(node.type, dict(node.config)),
            stats=(stats or {}).get(node_id),
        )
        box.x = int(MARGIN + (position[node_id] + (widest - 1) / 2) * (NODE_W + GAP_X))
        box.y = MARGIN + depth[node_id] * (NODE_H + GAP_Y)
        boxes[node_id] = box
        drawing.boxes.append(box)
    long_edges = 0
    for (source, port), target in graph.edges.items():
        a, b = boxes[source], boxes[target]
        if (source, target) in back:
            side = max(a.x, b.x) + NODE_W + 18
            path = f"M{a.x + NODE_W},{a.y + NODE_H // 2} C{side},{a.y + NODE_H // 2} {side},{b.y + NODE_H // 2} {b.x + NODE_W},{b.y + NODE_H // 2}"
            drawing.lines.append(Line(path, port, side - 10, (a.y + b.y + NODE_H) // 2, back=True))
            continue
        x1, y1, x2, y2 = a.cx, a.y + NODE_H, b.cx, b.y
        between = [box for box in boxes.values() if depth[source] < depth[box.id] < depth[target]]
        if between:  # a long edge: route it beside the nodes it would cross
            long_edges += 1
            side = max(box.x + NODE_W for box in between) + 12 + 8 * long_edges
            path = f"M{a.x + NODE_W},{a.y + NODE_H // 2} C{side},{a.y + NODE_H // 2} {side},{a.y + NODE_H} {side},{a.y + NODE_H + GAP_Y} L{side},{b.y - GAP_Y // 2} C{side},{b.y - 8} {x2 + 20},{b.y - 20} {x2 + 8},{y2 - 6}"
            drawing.lines.append(
                Line(path, port if port != "default" else "", side + 4, a.y + NODE_H + 14)
            )
            continue
        mid = (y1 + y2) // 2
        path = f"M{x1},{y1} C{x1},{mid} {x2},{mid} {x2},{y2 - 6}"
        drawing.lines.append(
            Line(path, port if port != "default" else "", (x1 + x2) // 2 + 4, mid - 4)
        )
    drawing.width = (
        MARGIN * 2
        + widest * NODE_W
        + (widest - 1) * GAP_X
        + (60 if back else 0)
        + 12
        + 8 * long_edges
    )
    drawing.height = MARGIN * 2 + (max(depth.values(), default=0) + 1) * (NODE_H + GAP_Y) - GAP_Y
    return drawing
