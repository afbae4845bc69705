"""trigger.back_in_stock — a product the contact viewed or added (and has not bought since)
is in stock again (commerce records `product.back_in_stock` once per contact and restock)."""

from collections.abc import Mapping
from typing import Any

from .. import integrations
from .base import trigger_node
from .checks import config_filter

PRODUCT = {
    "type": "string",
    "maxLength": 200,
    "title": "Product id",
    "description": "Only for this product (the shop's product id; empty: any product).",
}


def product_matches(config: Mapping[str, Any], event: Any) -> bool:
    wanted = str(config.get("product") or "").strip()
    return not wanted or str((event.properties or {}).get("product_id", "")) == wanted


NODE = trigger_node(
    "trigger.back_in_stock",
    "Back in stock",
    "Enrols a contact when a product they viewed or added to the cart recently "
    "(COMMERCE_SIGNAL_DAYS, 30 days by default) (and did not buy since) is back in stock.",
    {"product": PRODUCT},
    keys=lambda config: [integrations.BACK_IN_STOCK],
    match=lambda config, event, changed, contact: (
        event is not None and product_matches(config, event)
    ),
    check=config_filter,
)
