"""trigger.score_threshold — the lead score crossed a threshold (up, or down)."""

from collections.abc import Mapping
from typing import Any

from .. import integrations
from .base import trigger_node
from .checks import config_filter


def _crossed(config: Mapping[str, Any], event: Any, changed: set[str], contact: Any) -> bool:
    if event is None or (event.properties or {}).get("primary") is False:
        return False  # another scoring model's score: thresholds watch the primary score
    old, new = integrations.score_change_values(event)
    if old is None or new is None:
        return False
    threshold = config["threshold"]
    if config.get("direction", "up") == "down":
        return bool(old >= threshold > new)
    return bool(old < threshold <= new)


NODE = trigger_node(
    "trigger.score_threshold",
    "Score crossed a threshold",
    "Enrols a contact when their lead score rises to the threshold (or, with direction "
    "'down', falls below it).",
    {
        "threshold": {"type": "integer"},
        "direction": {"type": "string", "enum": ["up", "down"], "default": "up"},
    },
    ["threshold"],
    keys=lambda config: [integrations.SCORE_CHANGED],
    match=_crossed,
    check=config_filter,
)
