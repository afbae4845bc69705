"""Writes of commerce (HackSoft style: plain functions, keyword-only arguments).

- `catalogue`: the one writer of products (`products_upsert`, `product_update`);
- `activity`: e-commerce events → products, activity, purchases (the pipeline step's work);
- `feed`: catalogue feeds (CSV / JSON) imported with progress;
- `signals`: back-in-stock, price-drop and browse-abandonment events on contacts' streams;
- `reorder`: reorder intervals and predicted dates (and the contact attribute);
- `runs`: the batch job (recommendations + reorder dates) and stored recommendations.
"""

from commerce.services.activity import commerce_events_apply
from commerce.services.catalogue import (
    ProductRow,
    product_update,
    products_upsert,
    row_from_mapping,
)
from commerce.services.feed import feed_import_create, feed_import_run
from commerce.services.reorder import (
    REORDER_ATTRIBUTE,
    product_intervals_refresh,
    reorder_predict,
)
from commerce.services.runs import (
    commerce_run_execute,
    commerce_run_start,
    recommendations_forget,
    recommendations_store,
)
from commerce.services.signals import browse_abandonment_scan

__all__ = [
    "REORDER_ATTRIBUTE",
    "ProductRow",
    "browse_abandonment_scan",
    "commerce_events_apply",
    "commerce_run_execute",
    "commerce_run_start",
    "feed_import_create",
    "feed_import_run",
    "product_intervals_refresh",
    "product_update",
    "products_upsert",
    "recommendations_forget",
    "recommendations_store",
    "reorder_predict",
    "row_from_mapping",
]
