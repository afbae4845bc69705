"""wait.duration — wait a fixed time (days / hours / minutes / seconds)."""

from typing import Any

from .base import DURATION_PROPERTIES, NodeType, duration_of, schema, timed_wait


def _check(config: Any, workspace: Any) -> list[str]:
    if duration_of(config).total_seconds() <= 0:
        return ["the wait must be longer than zero (give days, hours, minutes or seconds)."]
    return []


NODE = NodeType(
    type="wait.duration",
    label="Wait",
    description='Waits for a fixed time, e.g. {"days": 1} or {"hours": 2, "minutes": 30}.',
    schema=schema(DURATION_PROPERTIES, minProperties=1),
    execute=lambda step: timed_wait(step, lambda s: s.now + duration_of(s.config)),
    check=_check,
)
