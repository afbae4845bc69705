"""What email and SMS actions share: the send window, the daily cap, consent, the send.

Not a node type (the registry loads modules named after node types only).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..localtime import (
    ALL_DAYS,
    local_day_start,
    next_local_midnight,
    next_window_start,
    parse_hhmm,
)
from .base import ID, NodeType, Result, Step, schema, wait_until
from .checks import template_errors

DEFERRED = "deferred"


def _window_opens(step: Step, moment: datetime) -> datetime:
    window = step.workflow.send_window
    if not window:
        return moment
    return next_window_start(
        moment,
        step.zone,
        parse_hhmm(window.get("start", "00:00")),
        parse_hhmm(window.get("end", "23:59")),
        tuple(window.get("days") or ALL_DAYS),
    )


def _defer(step: Step, until: datetime, reason: str) -> Result:
    result = wait_until(step, until, deferred=reason)
    result.outcome = DEFERRED
    result.detail = {"reason": reason, "until": until.isoformat()}
    return result


def send_gate(step: Step) -> Result | None:
    """A deferral when the message may not go now (quiet hours, daily cap), else None."""
    opens = _window_opens(step, step.now)
    if opens > step.now:
        return _defer(step, opens, "outside the send window")
    cap = step.workflow.daily_message_cap
    if (
        cap
        and step.effects.messages_sent_since(step.contact, local_day_start(step.now, step.zone))
        >= cap
    ):
        tomorrow = _window_opens(step, next_local_midnight(step.now, step.zone))
        return _defer(step, tomorrow, f"daily cap of {cap} messages reached")
    return None


def send(step: Step, channel: str) -> Result:
    gate = send_gate(step)
    if gate is not None:
        return gate
    address = step.contact.email if channel == "email" else step.contact.phone
    if not address:
        return Result(
            outcome="skipped",
            detail={
                "reason": f"the contact has no {'email address' if channel == 'email' else 'phone number'}"
            },
        )
    trigger = step.run_context.get("trigger", {})
    # messaging's template context: the triggering event as `event` (cart items, order …).
    context: dict[str, Any] = {
        "event": {"name": trigger.get("event", ""), "properties": trigger.get("properties", {})},
        "workflow": {"id": step.workflow.pk, "name": step.workflow.name},
    }
    info = step.effects.send_message(
        step.contact,
        channel=channel,
        template=step.config["template"],
        source_id=step.source_id,
        context=context,
    )
    if info.get("suppressed"):
        return Result(outcome="skipped", detail=info)
    return Result(outcome="sent", detail=info)


def message_node(channel: str, label: str, description: str) -> NodeType:
    return NodeType(
        type=f"action.{channel}",
        label=label,
        description=description,
        schema=schema({"template": ID}, ["template"]),
        execute=lambda step: send(step, channel),
        check=lambda config, workspace: template_errors(config["template"], channel, workspace),
        sends_message=True,
    )
