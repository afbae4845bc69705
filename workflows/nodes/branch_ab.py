"""branch.ab — a random split with weights (A/B/n), stable per contact.

The variant is a hash of (workflow id, node id, contact id), not a random draw, so a
contact who goes through the workflow again — or whose step is retried — lands in the
same variant, and the split can be recomputed for reporting.
"""

import hashlib
from collections.abc import Mapping
from typing import Any

from .base import NodeType, Result, Step, schema
from .branch_multi import PORT_NAME
from .checks import Issue


def variant_for(
    config: Mapping[str, Any], *, workflow_id: int, node_id: str, contact_id: int
) -> str:
    variants = config["variants"]
    total = sum(v["weight"] for v in variants)
    digest = hashlib.sha256(f"{workflow_id}:{node_id}:{contact_id}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") % total
    for variant in variants:
        point -= variant["weight"]
        if point < 0:
            return str(variant["name"])
    return str(variants[-1]["name"])


def execute(step: Step) -> Result:
    name = variant_for(
        step.config, workflow_id=step.workflow.pk, node_id=step.node.id, contact_id=step.contact.pk
    )
    return Result(outcome="passed", port=name, detail={"variant": name})


def check(config: Mapping[str, Any], workspace: Any) -> list[str]:
    names = [v["name"] for v in config["variants"]]
    errors: list[str] = [
        Issue(f"variant name {name!r} is used twice.", "invalid_config")
        for name in sorted(set(names))
        if names.count(name) > 1
    ]
    total = sum(v["weight"] for v in config["variants"])
    if total != 100:
        errors.append(
            Issue(
                f"variants: the weights add up to {total}; they must add up to 100.", "weights_sum"
            )
        )
    return errors


NODE = NodeType(
    type="branch.ab",
    label="A/B split",
    description='Splits contacts at random by weight, e.g. [{"name": "a", "weight": 50}, '
    '{"name": "b", "weight": 50}]; a contact always gets the same variant.',
    schema=schema(
        {
            "variants": {
                "type": "array",
                "minItems": 2,
                "maxItems": 10,
                "items": schema(
                    {
                        "name": PORT_NAME,
                        "weight": {"type": "integer", "minimum": 1, "maximum": 100},
                    },
                    ["name", "weight"],
                ),
            }
        },
        ["variants"],
    ),
    execute=execute,
    ports=("a", "b"),
    config_ports=lambda config: [v["name"] for v in config.get("variants", [])],
    check=check,
)
