"""trigger.lifecycle_changed — the lifecycle stage changed (optionally from / to a stage)."""

from collections.abc import Mapping
from typing import Any

from contacts.models import LifecycleStage

from .. import integrations
from .base import trigger_node
from .checks import config_filter


def _match(config: Mapping[str, Any], event: Any, changed: set[str], contact: Any) -> bool:
    if event is None:
        return False
    old, new = integrations.lifecycle_change_values(event)
    if config.get("to") and new != config["to"]:
        return False
    return not (config.get("from") and old != config["from"])


STAGE = {"type": "string", "enum": list(LifecycleStage.values)}

NODE = trigger_node(
    "trigger.lifecycle_changed",
    "Lifecycle stage changed",
    "Enrols a contact when their lifecycle stage changes (optionally from / to a stage).",
    {"to": STAGE, "from": STAGE},
    keys=lambda config: [integrations.LIFECYCLE_CHANGED],
    match=_match,
    check=config_filter,
)
