"""trigger.event — a contact performed an event (with optional property conditions)."""

from ..conditions import properties_match
from .base import PROPERTY_CONDITIONS_SCHEMA, trigger_node
from .checks import config_filter

NODE = trigger_node(
    "trigger.event",
    "Event performed",
    "Enrols a contact when they perform an event (optionally with property conditions).",
    {"event": {"type": "string", "minLength": 1}, "where": PROPERTY_CONDITIONS_SCHEMA},
    ["event"],
    keys=lambda config: [config["event"]],
    match=lambda config, event, changed, contact: (
        event is not None
        and event.name == config["event"]
        and properties_match(config.get("where"), event.properties)
    ),
    check=config_filter,
)
