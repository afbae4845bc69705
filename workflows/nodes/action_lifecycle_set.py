"""action.lifecycle_set — set the contact's lifecycle stage (scoring)."""

from contacts.models import LifecycleStage

from .base import NodeType, Result, Step, schema


def execute(step: Step) -> Result:
    stage = step.config["stage"]
    step.effects.lifecycle_set(step.contact, stage, f"Workflow: {step.workflow.name}")
    return Result(outcome="passed", detail={"stage": stage})


NODE = NodeType(
    type="action.lifecycle_set",
    label="Set lifecycle stage",
    description="Moves the contact to a lifecycle stage (subscriber, lead, MQL, SQL, customer).",
    schema=schema({"stage": {"type": "string", "enum": list(LifecycleStage.values)}}, ["stage"]),
    execute=execute,
)
