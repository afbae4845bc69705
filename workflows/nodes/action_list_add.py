"""action.list_add — add the contact to a static list (segments)."""

from .base import ID, NodeType, Result, Step, schema
from .checks import segment_errors


def execute(step: Step) -> Result:
    step.effects.static_list(step.contact, step.config["list"], add=True)
    return Result(outcome="passed", detail={"list": step.config["list"]})


NODE = NodeType(
    type="action.list_add",
    label="Add to list",
    description="Adds the contact to a static list.",
    schema=schema({"list": ID}, ["list"]),
    execute=execute,
    check=lambda config, workspace: segment_errors(
        config["list"], workspace, where="list", static=True
    ),
)
