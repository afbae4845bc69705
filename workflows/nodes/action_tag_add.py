"""action.tag_add — add tags to the contact."""

from .base import NodeType, Result, Step, schema

TAGS = {
    "type": "array",
    "items": {"type": "string", "minLength": 1, "maxLength": 100},
    "minItems": 1,
}


def execute(step: Step) -> Result:
    step.effects.tags(step.contact, list(step.config["tags"]), add=True)
    return Result(outcome="passed", detail={"tags": list(step.config["tags"])})


NODE = NodeType(
    type="action.tag_add",
    label="Add tags",
    description="Adds the tags to the contact (tags they already have are left alone).",
    schema=schema({"tags": TAGS}, ["tags"]),
    execute=execute,
)
