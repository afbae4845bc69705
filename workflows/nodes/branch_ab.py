"""branch.ab — a random split with weights (A/B/n), stable per contact; or a smart split.

The variant is a hash of (workflow id, node id, contact id), not a random draw, so a
contact who goes through the workflow again — or whose step is retried — lands in the
same variant, and the split can be recomputed for reporting.

A smart split (`"mode": "smart"`) moves traffic to what works: the shares are Thompson
sampling on the node's metric with a floor per variant (workflows/splits.py), recomputed from
the results at most every WORKFLOWS_SMART_SPLIT_REFRESH_SECONDS; the same hash places the
contact within them. When the marketer sends all future traffic to one variant (the
workflow's `split_winners`), every contact goes there.
"""

import hashlib
from collections.abc import Mapping
from typing import Any

from workspaces.experiments import pick_by_shares

from .. import splits
from ..models import Workflow
from .base import NodeType, Result, Step, schema
from .branch_multi import PORT_NAME
from .checks import Issue

POINTS = 2**64


def _point(workflow_id: int, node_id: str, contact_id: int) -> int:
    digest = hashlib.sha256(f"{workflow_id}:{node_id}:{contact_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def variant_for(
    config: Mapping[str, Any], *, workflow_id: int, node_id: str, contact_id: int
) -> str:
    variants = config["variants"]
    total = sum(v["weight"] for v in variants)
    point = _point(workflow_id, node_id, contact_id) % total
    for variant in variants:
        point -= variant["weight"]
        if point < 0:
            return str(variant["name"])
    return str(variants[-1]["name"])


def choose(
    config: Mapping[str, Any], *, workflow: Workflow, node_id: str, contact_id: int
) -> tuple[str, dict[str, Any]]:
    """The variant for this contact, and how it was chosen (the step's detail)."""
    names = splits.variant_names(config)
    chosen = (workflow.split_winners or {}).get(node_id)
    if chosen in names:
        return chosen, {"variant": chosen, "chosen_by": "marketer"}
    if config.get("mode") == splits.SMART:
        shares = splits.smart_shares(workflow=workflow, node_id=node_id, config=config)
        index = pick_by_shares(
            [shares.get(name, 0.0) for name in names],
            _point(workflow.pk, node_id, contact_id) / POINTS,
        )
        return names[index], {"variant": names[index], "share": round(shares[names[index]], 4)}
    name = variant_for(config, workflow_id=workflow.pk, node_id=node_id, contact_id=contact_id)
    return name, {"variant": name}


def execute(step: Step) -> Result:
    name, detail = choose(
        step.config, workflow=step.workflow, node_id=step.node.id, contact_id=step.contact.pk
    )
    return Result(outcome="passed", port=name, detail=detail)


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
    floor = config.get("floor", splits.DEFAULT_FLOOR)
    if config.get("mode") == splits.SMART and floor * len(names) > 100:
        errors.append(
            Issue(
                f"floor: {floor}% for each of {len(names)} variants is more than 100%; "
                f"at most {100 // len(names)}%.",
                "invalid_config",
            )
        )
    return errors


NODE = NodeType(
    type="branch.ab",
    label="A/B split",
    description='Splits contacts at random by weight, e.g. [{"name": "a", "weight": 50}, '
    '{"name": "b", "weight": 50}]; a contact always gets the same variant. A smart split '
    "sends more contacts to the variant that is doing better (Thompson sampling), keeping "
    "a floor for each.",
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
            },
            "metric": {
                "type": "string",
                "enum": list(splits.METRICS),
                "default": splits.DEFAULT_METRIC,
                "title": "Decide on",
                "x-enumLabels": ["Conversions (the workflow's goal)", "Clicks on later messages"],
            },
            "min_sample": {
                "type": "integer",
                "minimum": 10,
                "maximum": 1_000_000,
                "default": splits.DEFAULT_MIN_SAMPLE,
                "title": "Contacts per variant before a call",
                "description": "No winner is called before every variant has this many.",
            },
            "mode": {
                "type": "string",
                "enum": ["fixed", splits.SMART],
                "default": "fixed",
                "title": "Traffic",
                "x-enumLabels": [
                    "Fixed: the weights",
                    "Smart: more to the better variant (Thompson sampling)",
                ],
            },
            "floor": {
                "type": "integer",
                "minimum": 0,
                "maximum": 50,
                "default": splits.DEFAULT_FLOOR,
                "title": "Smart split: least share per variant (%)",
                "description": "Each variant keeps at least this share, so it is still measured.",
            },
        },
        ["variants"],
    ),
    execute=execute,
    ports=("a", "b"),
    config_ports=lambda config: [v["name"] for v in config.get("variants", [])],
    check=check,
)
