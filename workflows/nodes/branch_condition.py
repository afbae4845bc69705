"""branch.condition — if/else on a segment filter, evaluated for this contact now."""

from .base import FILTER_SCHEMA, NodeType, Result, Step, schema
from .checks import config_filter_in_run


def execute(step: Step) -> Result:
    holds = step.effects.evaluate(step.config["filter"], step.contact, step.now, step.entered_at)
    return Result(outcome="passed", port="yes" if holds else "no")


NODE = NodeType(
    type="branch.condition",
    label="If / else",
    description="Sends the contact through `yes` when they match the filter (any segment "
    "condition: fields, tags, events, segments), else through `no`.",
    schema=schema({"filter": FILTER_SCHEMA}, ["filter"]),
    execute=execute,
    ports=("yes", "no"),
    check=config_filter_in_run,
)
