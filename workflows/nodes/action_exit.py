"""action.exit — end the contact's run here (status 'exited')."""

from .base import NodeType, Result, schema

NODE = NodeType(
    type="action.exit",
    label="Exit",
    description="Ends the contact's run in this workflow.",
    schema=schema({"reason": {"type": "string", "maxLength": 200}}),
    execute=lambda step: Result(
        outcome="exited", port=None, end="exited", detail=dict(step.config)
    ),
    ports=(),
)
