"""trigger.browse_abandoned — a contact viewed products and then neither added one to the
cart nor ordered (commerce records `product.browse_abandoned` once per browsing session,
COMMERCE_BROWSE_ABANDON_HOURS after the last view; docs/commerce.md)."""

from collections.abc import Mapping
from typing import Any

from .. import integrations
from .base import trigger_node
from .checks import config_filter


def _match(config: Mapping[str, Any], event: Any, changed: set[str], contact: Any) -> bool:
    if event is None:
        return False
    wanted = (config.get("category") or "").strip().lower()
    if not wanted:
        return True
    viewed = (event.properties or {}).get("products") or [event.properties or {}]
    return any(
        str((p or {}).get("category") or "").strip().lower() == wanted
        for p in viewed
        if isinstance(p, dict)
    )


NODE = trigger_node(
    "trigger.browse_abandoned",
    "Browse abandoned",
    "Enrols a contact who viewed products without adding one to the cart or ordering "
    "(once per browsing session). The event carries the viewed products: "
    "{{ event.properties.products }}.",
    {
        "category": {
            "type": "string",
            "maxLength": 200,
            "title": "Category",
            "description": "Only when a viewed product is in this category (empty: any).",
        }
    },
    keys=lambda config: [integrations.BROWSE_ABANDONED],
    match=_match,
    check=config_filter,
)
