"""wait.until_datetime — wait until a date and time (contact-local when it has no offset)."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .base import TIMEZONE, NodeType, Step, schema, timed_wait, zone_errors, zone_for


def _until(step: Step) -> datetime:
    moment = datetime.fromisoformat(step.config["at"])
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone_for(step))
    return moment


def _check(config: Mapping[str, Any], workspace: Any) -> list[str]:
    try:
        datetime.fromisoformat(config["at"])
    except (KeyError, ValueError):
        return [
            "at: expected an ISO 8601 date-time such as 2025-12-24T09:00 or 2025-12-24T09:00+01:00."
        ]
    return zone_errors(config)


NODE = NodeType(
    type="wait.until_datetime",
    label="Wait until a date",
    description="Waits until a date and time. Without a UTC offset the time is the contact's "
    "local time (or `timezone`'s). A moment already past lets the contact through at once.",
    schema=schema({"at": {"type": "string", "minLength": 10}, "timezone": TIMEZONE}, ["at"]),
    execute=lambda step: timed_wait(step, _until),
    check=_check,
)
