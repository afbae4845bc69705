"""What a node type is: a JSON Schema for its config, its output ports, a description and
an executor. Node modules build one `NodeType` each and `register` it.

Executors are plain functions `execute(step) -> Result`. They never write run state
themselves: the engine applies the Result (next node, wait, end) in the same transaction as
the side effects the executor caused through `step.effects`, so a step either happened
entirely or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from contacts.models import Contact, Event
    from workflows.engine.effects import LiveEffects as Effects
    from workflows.models import Workflow
    from workspaces.models import Workspace

DEFAULT = "default"
TIMEOUT = "timeout"


@dataclass(frozen=True)
class Node:
    id: str
    type: str
    config: Mapping[str, Any]


@dataclass
class Result:
    """What an executor decided.

    - `port`: the output port to follow (None: the run ends here, completed);
    - `wait_until`: stay at this node until then (a wait, or a deferred send);
    - `end`: end the run now with this status (exited / converted) instead of moving on.
    """

    outcome: str
    port: str | None = DEFAULT
    wait_until: datetime | None = None
    wait_state: dict[str, Any] | None = None
    end: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)


@dataclass
class Step:
    """Everything an executor may look at. `effects` is the only way to change the world."""

    workspace: Workspace
    workflow: Workflow
    run_id: int
    run_context: dict[str, Any]
    contact: Contact
    node: Node
    now: datetime
    zone: ZoneInfo
    effects: Effects
    # The result of this node's external call (webhooks), made outside the transaction.
    external: dict[str, Any] | None = None
    # When the run entered the workflow (its enrolment): event conditions "since entering".
    entered_at: datetime | None = None

    @property
    def config(self) -> Mapping[str, Any]:
        return self.node.config

    @property
    def wait(self) -> dict[str, Any] | None:
        """This node's wait state, when the run is already waiting here."""
        state = self.run_context.get("wait")
        return state if state and state.get("node") == self.node.id else None

    @property
    def visit(self) -> int:
        """How many times this run has arrived at this node (1 unless the graph loops)."""
        return int(self.run_context.get("visits", {}).get(self.node.id, 1))

    @property
    def source_id(self) -> str:
        """The idempotency key of this node's side effects in this run (and visit)."""
        base = f"{self.run_id}:{self.node.id}"
        return base if self.visit <= 1 else f"{base}:{self.visit}"


@dataclass(frozen=True)
class TriggerSpec:
    """How a trigger node is found from the event stream.

    `keys(config)` are the index keys it listens to: event names, or "field:<name>" for
    profile changes. `match(config, event, changed_fields, contact)` decides for one event
    (or, for profile changes, event None and the set of changed field names).
    """

    keys: Callable[[Mapping[str, Any]], list[str]]
    match: Callable[[Mapping[str, Any], Event | None, set[str], Contact], bool]


@dataclass(frozen=True)
class NodeType:
    type: str
    label: str
    description: str
    schema: dict[str, Any]
    execute: Callable[[Step], Result]
    ports: tuple[str, ...] = (DEFAULT,)
    # Ports that depend on the config (multi-way and A/B splits).
    config_ports: Callable[[Mapping[str, Any]], list[str]] | None = None
    # Checks the schema can't express (a filter that compiles, a template that exists …):
    # returns error messages.
    check: Callable[[Mapping[str, Any], Workspace | None], list[str]] | None = None
    trigger: TriggerSpec | None = None
    # Nodes whose work is a call to the outside world, made outside the transaction.
    external_call: Callable[[Step], dict[str, Any]] | None = None
    sends_message: bool = False

    @property
    def kind(self) -> str:
        return self.type.split(".", 1)[0]

    @property
    def is_trigger(self) -> bool:
        return self.kind == "trigger"

    @property
    def is_wait(self) -> bool:
        return self.kind == "wait"

    def ports_for(self, config: Mapping[str, Any]) -> list[str]:
        if self.config_ports is not None:
            return self.config_ports(config)
        return list(self.ports)


def schema(
    properties: dict[str, Any], required: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    """A closed object schema (unknown keys are errors, so typos surface at save time)."""
    return {
        "type": "object",
        "properties": properties,
        "required": required or [],
        "additionalProperties": False,
        **extra,
    }


FILTER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A segment filter (see DESIGN.md: all/any/not groups of field, tag, event, segment conditions).",
}
PROPERTY_CONDITIONS_SCHEMA: dict[str, Any] = {
    "type": "array",
    "description": "Conditions on the event's properties, as in a segment filter's `where`.",
    "items": {
        "type": "object",
        "properties": {
            "property": {"type": "string", "minLength": 1},
            "op": {"type": "string"},
            "value": {},
        },
        "required": ["property", "op"],
        "additionalProperties": False,
    },
}
HHMM = {"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d$"}
TIMEZONE = {"type": "string", "minLength": 1, "maxLength": 64}


def zone_errors(config: Mapping[str, Any]) -> list[str]:
    """An unknown `timezone` name (empty means the contact's own zone)."""
    from ..localtime import zone_named

    name = config.get("timezone")
    if name and zone_named(name) is None:
        return [f"timezone: {name!r} is not a time zone name (e.g. Europe/Berlin)."]
    return []


def zone_for(step: Step) -> ZoneInfo:
    """The node's fixed time zone when it has one, else the contact's."""
    from ..localtime import zone_named

    return zone_named(step.config.get("timezone")) or step.zone


WEEKDAYS = {
    "type": "array",
    "items": {"type": "integer", "minimum": 0, "maximum": 6},
    "minItems": 1,
    "uniqueItems": True,
    "description": "Weekdays, Monday = 0 … Sunday = 6.",
}
ID = {"type": ["integer", "string"], "description": "An object id."}


def passes(step: Step) -> Result:
    """What a trigger does when a run starts: record that the contact entered."""
    return Result(outcome="passed")


def trigger_node(
    type: str,
    label: str,
    description: str,
    properties: dict[str, Any],
    required: list[str] | None = None,
    *,
    keys: Callable[[Mapping[str, Any]], list[str]] | None = None,
    match: Callable[[Mapping[str, Any], Event | None, set[str], Contact], bool] | None = None,
    check: Callable[[Mapping[str, Any], Workspace | None], list[str]] | None = None,
) -> NodeType:
    """A trigger. Every trigger takes an optional `filter`: only contacts who match it
    when the trigger fires are enrolled."""
    return NodeType(
        type=type,
        label=label,
        description=description,
        schema=schema({**properties, "filter": FILTER_SCHEMA}, required),
        execute=passes,
        check=check,
        trigger=TriggerSpec(keys=keys, match=match) if keys and match else None,
    )


def same_id(a: Any, b: Any) -> bool:
    return a is not None and str(a) == str(b)


# --- waits ---------------------------------------------------------------------------------

WAITING = "waiting"
RESUMED = "resumed"
TIMED_OUT = "timed_out"

DURATION_PROPERTIES: dict[str, Any] = {
    "days": {"type": "number", "minimum": 0},
    "hours": {"type": "number", "minimum": 0},
    "minutes": {"type": "number", "minimum": 0},
    "seconds": {"type": "number", "minimum": 0},
}
DURATION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": DURATION_PROPERTIES,
    "additionalProperties": False,
    "minProperties": 1,
}


def duration_of(config: Mapping[str, Any]) -> timedelta:
    return timedelta(
        days=config.get("days", 0),
        hours=config.get("hours", 0),
        minutes=config.get("minutes", 0),
        seconds=config.get("seconds", 0),
    )


def iso(moment: datetime) -> str:
    return moment.isoformat()


def parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value)


def wait_until(step: Step, until: datetime, **state: Any) -> Result:
    """Stay at this node until `until` (keeping any wait state already recorded)."""
    previous = step.wait or {"node": step.node.id, "since": iso(step.now)}
    return Result(
        outcome=WAITING,
        port=None,
        wait_until=until,
        wait_state={**previous, "until": iso(until), **state},
    )


def timed_wait(step: Step, until: Callable[[Step], datetime]) -> Result:
    """A wait that ends at a time: on arrival compute it; when due, move on."""
    state = step.wait
    if state is None:
        target = until(step)
        if target <= step.now:
            return Result(outcome=RESUMED, detail={"until": iso(target)})
        return wait_until(step, target)
    target = parse_iso(state["until"])
    if step.now < target:  # picked up early (e.g. the workflow was resumed): keep waiting
        return wait_until(step, target)
    return Result(outcome=RESUMED, detail={"waited_since": state["since"]})


class StepFailed(Exception):
    """A step could not do its work. Retryable failures are retried with backoff; the
    run fails after the last attempt (or at once when not retryable)."""

    def __init__(
        self, message: str, *, retryable: bool = True, detail: dict[str, Any] | None = None
    ):
        super().__init__(message)
        self.retryable = retryable
        self.detail = detail or {}


def did(outcome: str = "passed", **detail: Any) -> Result:
    return Result(outcome=outcome, detail=detail)
