"""wait.until_event — wait until the contact performs an event, or time out.

The pipeline processor marks a waiting run resolved when a matching event arrives (see
workflows.runs.enrolment.waits_resolve) and makes it due at once; the executor then takes the
default port. When the timeout passes first, it takes the `timeout` port.
"""

from .base import (
    DEFAULT,
    DURATION_SCHEMA,
    PROPERTY_CONDITIONS_SCHEMA,
    RESUMED,
    TIMED_OUT,
    TIMEOUT,
    NodeType,
    Result,
    Step,
    duration_of,
    parse_iso,
    schema,
    wait_until,
)


def execute(step: Step) -> Result:
    state = step.wait
    if state is None:
        return wait_until(
            step, step.now + duration_of(step.config["timeout"]), event=step.config["event"]
        )
    if state.get("resolved"):
        return Result(outcome=RESUMED, port=DEFAULT, detail={"event_id": state.get("event_id")})
    until = parse_iso(state["until"])
    if step.now >= until:
        return Result(outcome=TIMED_OUT, port=TIMEOUT)
    return wait_until(step, until)


NODE = NodeType(
    type="wait.until_event",
    label="Wait for an event",
    description="Waits until the contact performs the event (with optional property "
    "conditions); after `timeout` the contact leaves through the `timeout` port.",
    schema=schema(
        {
            "event": {"type": "string", "minLength": 1},
            "where": PROPERTY_CONDITIONS_SCHEMA,
            "timeout": DURATION_SCHEMA,
        },
        ["event", "timeout"],
    ),
    execute=execute,
    ports=(DEFAULT, TIMEOUT),
)
