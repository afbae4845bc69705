"""What a filter looks at: the dependency index behind real-time re-evaluation.

A segment needs re-evaluating for a contact only when that contact got an event it names,
changed a field it reads, or moved in a segment it references. `drifts` says the answer
can also change with the clock alone (relative dates, event windows), which the periodic
recompute covers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .schema import RELATIVE_OPS

TAGS = "tags"


@dataclass(frozen=True)
class Dependencies:
    event_names: frozenset[str] = field(default_factory=frozenset)
    fields: frozenset[str] = field(default_factory=frozenset)  # columns, attribute keys, "tags"
    segment_ids: frozenset[int] = field(default_factory=frozenset)
    drifts: bool = False


def filter_dependencies(tree: Any) -> Dependencies:
    """Works on the raw JSON (valid or not): parts it cannot read add nothing."""
    events: set[str] = set()
    fields: set[str] = set()
    segments: set[int] = set()
    drifts = False
    stack = [tree]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        for group in ("all", "any"):
            if isinstance(node.get(group), list):
                stack.extend(node[group])
        if "not" in node:
            stack.append(node["not"])
        if isinstance(node.get("field"), str):
            fields.add(node["field"])
            drifts = drifts or node.get("op") in RELATIVE_OPS
        if isinstance(node.get("tag"), str):
            fields.add(TAGS)
        if isinstance(node.get("event"), str):
            events.add(node["event"])
            drifts = drifts or "within_days" in node
        ref = node.get("segment")
        if isinstance(ref, int) and not isinstance(ref, bool):
            segments.add(ref)
        elif isinstance(ref, str) and ref.isdigit():
            segments.add(int(ref))
    return Dependencies(frozenset(events), frozenset(fields), frozenset(segments), drifts)
