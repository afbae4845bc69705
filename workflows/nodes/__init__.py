"""The node registry: one module per node type (module name = type with dots as
underscores: `trigger_event`, `wait_duration`, `action_email`, `goal` …), each defining
`NODE`. `GET /api/v1/workflows/node-types/` lists them; the graph validator and the engine
look types up here.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from .base import NodeType

KIND_PREFIXES = ("trigger_", "wait_", "branch_", "action_", "goal")
KIND_ORDER = {"trigger": 0, "wait": 1, "branch": 2, "action": 3, "goal": 4}


@cache
def registry() -> dict[str, NodeType]:
    types: dict[str, NodeType] = {}
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith(KIND_PREFIXES):
            continue
        node_type: NodeType = importlib.import_module(f"{__name__}.{module.name}").NODE
        if node_type.type.replace(".", "_") != module.name:
            raise RuntimeError(f"{module.name}.py defines {node_type.type}: name them alike")
        types[node_type.type] = node_type
    return dict(sorted(types.items(), key=lambda item: (KIND_ORDER[item[1].kind], item[0])))


def node_type(type_name: str) -> NodeType | None:
    return registry().get(type_name)


__all__ = ["NodeType", "node_type", "registry"]
