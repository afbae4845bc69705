"""action.tag_remove — remove tags from the contact."""

from .action_tag_add import TAGS
from .base import NodeType, Result, Step, schema


def execute(step: Step) -> Result:
    step.effects.tags(step.contact, list(step.config["tags"]), add=False)
    return Result(outcome="passed", detail={"tags": list(step.config["tags"])})


NODE = NodeType(
    type="action.tag_remove",
    label="Remove tags",
    description="Removes the tags from the contact.",
    schema=schema({"tags": TAGS}, ["tags"]),
    execute=execute,
)
