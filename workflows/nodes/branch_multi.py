"""branch.multi — the first of several filters that matches picks the port; else `default`."""

from collections.abc import Mapping
from typing import Any

from .base import DEFAULT, FILTER_SCHEMA, NodeType, Result, Step, schema
from .checks import filter_errors

PORT_NAME = {"type": "string", "pattern": r"^[a-z0-9_-]{1,40}$"}


def execute(step: Step) -> Result:
    for branch in step.config["branches"]:
        if step.effects.evaluate(branch["filter"], step.contact, step.now, step.entered_at):
            return Result(outcome="passed", port=branch["name"])
    return Result(outcome="passed", port=DEFAULT)


def ports(config: Mapping[str, Any]) -> list[str]:
    return [branch["name"] for branch in config.get("branches", [])] + [DEFAULT]


def check(config: Mapping[str, Any], workspace: Any) -> list[str]:
    names = [branch["name"] for branch in config["branches"]]
    errors = [
        f"branch name {name!r} is used twice."
        for name in sorted(set(names))
        if names.count(name) > 1
    ]
    if DEFAULT in names:
        errors.append("'default' is the name of the else-port; pick another branch name.")
    for index, branch in enumerate(config["branches"]):
        errors += filter_errors(
            branch["filter"], workspace, where=f"branches[{index}].filter", in_run=True
        )
    return errors


NODE = NodeType(
    type="branch.multi",
    label="Multi-way split",
    description="Checks the branches in order and sends the contact through the first whose "
    "filter matches (its port is the branch's name); no match goes through `default`.",
    schema=schema(
        {
            "branches": {
                "type": "array",
                "minItems": 1,
                "maxItems": 20,
                "items": schema({"name": PORT_NAME, "filter": FILTER_SCHEMA}, ["name", "filter"]),
            }
        },
        ["branches"],
    ),
    execute=execute,
    ports=(DEFAULT,),
    config_ports=ports,
    check=check,
)
