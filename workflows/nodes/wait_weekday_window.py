"""wait.weekday_window — wait until a weekday/time window in the contact's timezone
(e.g. the next Tuesday or Thursday, 9:00–11:00). Inside the window: continue at once."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..localtime import next_window_start, parse_hhmm
from .base import (
    HHMM,
    TIMEZONE,
    WEEKDAYS,
    NodeType,
    Step,
    schema,
    timed_wait,
    zone_errors,
    zone_for,
)


def _until(step: Step) -> datetime:
    config = step.config
    return next_window_start(
        step.now,
        zone_for(step),
        parse_hhmm(config.get("start", "09:00")),
        parse_hhmm(config.get("end", "17:00")),
        tuple(config["days"]),
    )


def _check(config: Mapping[str, Any], workspace: Any) -> list[str]:
    if config.get("start", "09:00") == config.get("end", "17:00"):
        return ["the window's start and end must differ."]
    return zone_errors(config)


NODE = NodeType(
    type="wait.weekday_window",
    label="Wait for a weekday window",
    description="Waits until the contact's local time (or `timezone`'s) is inside the window: "
    "one of `days` (Monday = 0) between `start` and `end`.",
    schema=schema({"days": WEEKDAYS, "start": HHMM, "end": HHMM, "timezone": TIMEZONE}, ["days"]),
    execute=lambda step: timed_wait(step, _until),
    check=_check,
)
