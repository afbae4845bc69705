"""action.update_field — set, clear or increment a contact field or custom attribute."""

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from ..conditions import CONTACT_FIELDS, contact_value
from .base import NodeType, Result, Step, StepFailed, schema

# Fields other node types own: the score belongs to scoring (action.score_change), the
# stage to action.lifecycle_set, consent to the contact.
NOT_HERE = {"score": "action.score_change", "lifecycle_stage": "action.lifecycle_set"}


def _increment(current: Any, by: Any) -> Any:
    try:
        total = Decimal(str(current or 0)) + Decimal(str(by))
    except InvalidOperation:
        raise StepFailed(f"cannot add {by!r} to {current!r}", retryable=False) from None
    return int(total) if total == total.to_integral_value() else float(total)


def execute(step: Step) -> Result:
    field, op = step.config["field"], step.config.get("op", "set")
    value = step.config.get("value")
    if op == "unset":
        value = None if field not in CONTACT_FIELDS else ""
    elif op == "increment":
        value = _increment(contact_value(step.contact, field), value if value is not None else 1)
    data = {field: value} if field in CONTACT_FIELDS else {"attributes": {field: value}}
    changed = step.effects.contact_update(step.contact, data)
    return Result(
        outcome="passed", detail={"field": field, "value": value, "changed": bool(changed)}
    )


def check(config: Mapping[str, Any], workspace: Any) -> list[str]:
    field, op = config["field"], config.get("op", "set")
    if field in NOT_HERE:
        return [f"field: use {NOT_HERE[field]} to change {field}."]
    if op == "set" and "value" not in config:
        return ["value: required when op is 'set'."]
    if op == "increment" and field in CONTACT_FIELDS:
        return [f"field: {field} is text; only custom number attributes can be incremented."]
    return []


NODE = NodeType(
    type="action.update_field",
    label="Update a field",
    description="Sets (op 'set'), clears ('unset') or adds to ('increment') a contact field "
    "or custom attribute; segments and triggers see the change.",
    schema=schema(
        {
            "field": {"type": "string", "minLength": 1, "maxLength": 100},
            "op": {"type": "string", "enum": ["set", "unset", "increment"], "default": "set"},
            "value": {},
        },
        ["field"],
    ),
    execute=execute,
    check=check,
)
