"""action.enroll_workflow — enrol the contact in another workflow (its own entry rules apply)."""

from typing import Any

from .base import ID, NodeType, Result, Step, schema
from .checks import Issue


def execute(step: Step) -> Result:
    outcome = step.effects.enroll(
        step.contact,
        workflow_id=int(step.config["workflow"]),
        key=f"wf:{step.source_id}",
        context={"from_workflow": step.workflow.pk, "from_run": step.run_id},
    )
    return Result(outcome="passed", detail=outcome)


def check(config: dict, workspace: Any) -> list[str]:
    from ..models import Workflow

    if workspace is None:
        return []
    try:
        exists = (
            Workflow.objects.for_workspace(workspace).filter(pk=int(config["workflow"])).exists()
        )
    except (TypeError, ValueError):
        exists = False
    if exists:
        return []
    message = f"workflow: no workflow with id {config['workflow']} in this workspace."
    return [Issue(message, "workflow_missing")]


NODE = NodeType(
    type="action.enroll_workflow",
    label="Enrol in another workflow",
    description="Enrols the contact in another (active) workflow, subject to that workflow's "
    "re-entry and suppression rules.",
    schema=schema({"workflow": ID}, ["workflow"]),
    execute=execute,
    check=check,
)
