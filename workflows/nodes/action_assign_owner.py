"""action.assign_owner — give the contact an owner: a named rep, or scoring's rotation."""

from typing import Any

from .base import NodeType, Result, Step, schema
from .checks import member_errors


def _user(workspace: Any, user_id: Any) -> Any:
    from workspaces.models import Membership

    membership = (
        Membership.objects.for_workspace(workspace)
        .filter(user_id=user_id)
        .select_related("user")
        .first()
    )
    return membership.user if membership else None


def execute(step: Step) -> Result:
    owner_id = step.config.get("owner")
    owner = _user(step.workspace, owner_id) if owner_id else None
    assigned = step.effects.owner_assign(step.contact, owner)
    return Result(outcome="passed", detail={"owner": getattr(assigned, "pk", owner_id)})


NODE = NodeType(
    type="action.assign_owner",
    label="Assign owner",
    description="Assigns the contact to a sales rep: the user given in `owner`, or — without "
    "one — the next rep in the workspace's rotation.",
    schema=schema({"owner": {"type": ["integer", "null"]}}),
    execute=execute,
    check=lambda config, workspace: member_errors(config.get("owner"), workspace, "owner"),
)
