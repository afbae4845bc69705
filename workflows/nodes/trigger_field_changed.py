"""trigger.field_changed — a contact field or custom attribute changed (optionally: to a value)."""

from collections.abc import Mapping
from typing import Any

from ..conditions import CONTACT_FIELDS, contact_value, values_equal
from .base import trigger_node
from .checks import config_filter


def _match(config: Mapping[str, Any], event: Any, changed: set[str], contact: Any) -> bool:
    if config["field"] not in changed:
        return False
    return "to" not in config or values_equal(contact_value(contact, config["field"]), config["to"])


NODE = trigger_node(
    "trigger.field_changed",
    "Field changed",
    "Enrols a contact when a contact field or custom attribute changes (optionally: to a value).",
    {
        "field": {"type": "string", "minLength": 1, "examples": list(CONTACT_FIELDS)},
        "to": {"description": "Only when the new value equals this."},
    },
    ["field"],
    keys=lambda config: [f"field:{config['field']}"],
    match=_match,
    check=config_filter,
)
