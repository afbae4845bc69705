"""goal — a milestone in the flow (e.g. "purchased").

A contact anywhere before the goal who comes to match its filter jumps straight to it
(the pipeline processor checks on each of their events) and is counted as converted;
reaching it along the flow counts as converted when the filter holds (or when there is
no filter). Without a match, `if_not_met` says whether to continue or end the run.
"""

from .base import FILTER_SCHEMA, NodeType, Result, Step, schema
from .checks import config_filter_in_run


def execute(step: Step) -> Result:
    tree = step.config.get("filter")
    met = (
        step.run_context.get("goal_jump") == step.node.id
        or not tree
        or step.effects.evaluate(tree, step.contact, step.now, step.entered_at)
    )
    if met:
        return Result(outcome="converted", context={"converted": step.node.id})
    if step.config.get("if_not_met", "continue") == "end":
        return Result(outcome="exited", port=None, end="exited", detail={"reason": "goal not met"})
    return Result(outcome="passed", detail={"met": False})


NODE = NodeType(
    type="goal",
    label="Goal",
    description="A conversion point. Contacts earlier in the flow who meet the filter jump "
    "here; contacts who arrive and meet it (or when there is no filter) count as converted.",
    schema=schema(
        {
            "filter": FILTER_SCHEMA,
            "if_not_met": {"type": "string", "enum": ["continue", "end"], "default": "continue"},
        }
    ),
    execute=execute,
    check=config_filter_in_run,
)
