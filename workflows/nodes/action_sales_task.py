"""action.sales_task — create a task for sales on this contact and notify the assignee."""

from datetime import timedelta

from .action_assign_owner import _user
from .base import NodeType, Result, Step, schema
from .checks import member_errors


def execute(step: Step) -> Result:
    config = step.config
    due = step.now + timedelta(days=config["due_in_days"]) if "due_in_days" in config else None
    assignee = _user(step.workspace, config["assignee"]) if config.get("assignee") else None
    task = step.effects.sales_task(
        step.contact, title=config["title"], due_at=due, assignee=assignee
    )
    return Result(
        outcome="passed", detail={"task": getattr(task, "pk", None), "title": config["title"]}
    )


NODE = NodeType(
    type="action.sales_task",
    label="Create a sales task",
    description="Creates a task on the contact for sales (assigned to `assignee`, else the "
    "contact's owner) and notifies them.",
    schema=schema(
        {
            "title": {"type": "string", "minLength": 1, "maxLength": 200},
            "due_in_days": {"type": "number", "minimum": 0, "maximum": 365},
            "assignee": {"type": ["integer", "null"]},
        },
        ["title"],
    ),
    execute=execute,
    check=lambda config, workspace: member_errors(config.get("assignee"), workspace, "assignee"),
)
