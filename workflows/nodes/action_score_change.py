"""action.score_change — add or subtract lead-score points (scoring)."""

from .base import NodeType, Result, Step, schema


def execute(step: Step) -> Result:
    points = step.config["points"]
    reason = step.config.get("reason") or f"Workflow: {step.workflow.name}"
    step.effects.score_adjust(step.contact, points, reason)
    return Result(outcome="passed", detail={"points": points})


NODE = NodeType(
    type="action.score_change",
    label="Change score",
    description="Adds points to the contact's lead score (negative points subtract); the "
    "score history names the workflow.",
    schema=schema(
        {
            "points": {"type": "integer", "minimum": -1000, "maximum": 1000, "not": {"const": 0}},
            "reason": {"type": "string", "maxLength": 200},
        },
        ["points"],
    ),
    execute=execute,
)
