"""wait.until_condition — wait until a filter holds for the contact, or time out.

Re-checked whenever the contact changes (the pipeline processor makes the run due) and
every `check_every_minutes` in any case, since time alone can make a filter hold.
"""

from datetime import timedelta

from .base import (
    DEFAULT,
    DURATION_SCHEMA,
    FILTER_SCHEMA,
    RESUMED,
    TIMED_OUT,
    TIMEOUT,
    NodeType,
    Result,
    Step,
    duration_of,
    iso,
    parse_iso,
    schema,
    wait_until,
)
from .checks import config_filter_in_run


def execute(step: Step) -> Result:
    if step.effects.evaluate(step.config["filter"], step.contact, step.now, step.entered_at):
        return Result(outcome=RESUMED, port=DEFAULT)
    state = step.wait
    until = (
        parse_iso(state["until_timeout"])
        if state
        else step.now + duration_of(step.config["timeout"])
    )
    if step.now >= until:
        return Result(outcome=TIMED_OUT, port=TIMEOUT)
    recheck = step.now + timedelta(minutes=step.config.get("check_every_minutes", 60))
    return wait_until(step, min(recheck, until), until_timeout=iso(until), condition=True)


NODE = NodeType(
    type="wait.until_condition",
    label="Wait until a condition holds",
    description="Waits until the contact matches the filter (re-checked when the contact "
    "changes, and every `check_every_minutes`); after `timeout`, leaves through `timeout`.",
    schema=schema(
        {
            "filter": FILTER_SCHEMA,
            "timeout": DURATION_SCHEMA,
            "check_every_minutes": {
                "type": "integer",
                "minimum": 1,
                "maximum": 10080,
                "default": 60,
            },
        },
        ["filter", "timeout"],
    ),
    execute=execute,
    ports=(DEFAULT, TIMEOUT),
    check=config_filter_in_run,
)
