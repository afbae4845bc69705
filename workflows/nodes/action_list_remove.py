"""action.list_remove — remove the contact from a static list (segments)."""

from .base import ID, NodeType, Result, Step, schema
from .checks import segment_errors


def execute(step: Step) -> Result:
    step.effects.static_list(step.contact, step.config["list"], add=False)
    return Result(outcome="passed", detail={"list": step.config["list"]})


NODE = NodeType(
    type="action.list_remove",
    label="Remove from list",
    description="Removes the contact from a static list (e.g. 'Active newsletter').",
    schema=schema({"list": ID}, ["list"]),
    execute=execute,
    check=lambda config, workspace: segment_errors(
        config["list"], workspace, where="list", static=True
    ),
)
