"""trigger.price_drop — the price of a product the contact viewed (and has not bought since)
went down by at least `min_percent` (commerce records `product.price_dropped` once per
contact and price change, with `old_price`, `new_price` and `drop_percent`)."""

from collections.abc import Mapping
from typing import Any

from .. import integrations
from .base import trigger_node
from .checks import config_filter
from .trigger_back_in_stock import PRODUCT, product_matches


def _match(config: Mapping[str, Any], event: Any, changed: set[str], contact: Any) -> bool:
    if event is None or not product_matches(config, event):
        return False
    try:
        dropped = float((event.properties or {}).get("drop_percent") or 0)
    except (TypeError, ValueError):
        return False
    return dropped >= float(config.get("min_percent", 10))


NODE = trigger_node(
    "trigger.price_drop",
    "Price drop",
    "Enrols a contact when the price of a product they viewed recently "
    "(COMMERCE_SIGNAL_DAYS, 30 days by default) drops by at least the given percentage.",
    {
        "min_percent": {
            "type": "number",
            "minimum": 0,
            "maximum": 100,
            "default": 10,
            "title": "Dropped by at least (%)",
            "description": "Compared with the price before the change.",
        },
        "product": PRODUCT,
    },
    keys=lambda config: [integrations.PRICE_DROPPED],
    match=_match,
    check=config_filter,
)
