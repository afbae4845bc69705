"""Reads of commerce, for its pages and API and for the apps above it: messaging (the
recommendations block and `{{ recommendations }}`), workflows (the reorder wait, the
commerce triggers' event names) and anyone reading a contact's commerce profile."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet

from commerce.models import (
    CommerceRun,
    Product,
    ProductActivity,
    ProductImport,
    Purchase,
    Recommendation,
    ReorderPrediction,
)
from workspaces.models import Workspace

# Segment's e-commerce spec: the events the catalogue and purchases are kept from.
PRODUCT_VIEWED = "Product Viewed"
PRODUCT_ADDED = "Product Added"
CHECKOUT_STARTED = "Checkout Started"
ORDER_COMPLETED = "Order Completed"
ECOMMERCE_EVENTS = frozenset({PRODUCT_VIEWED, PRODUCT_ADDED, CHECKOUT_STARTED, ORDER_COMPLETED})

# The signals commerce records on contacts' streams (workflow triggers start on them).
BROWSE_ABANDONED = "product.browse_abandoned"
BACK_IN_STOCK = "product.back_in_stock"
PRICE_DROPPED = "product.price_dropped"
SIGNAL_EVENTS = (BROWSE_ABANDONED, BACK_IN_STOCK, PRICE_DROPPED)

MAX_BLOCK_PRODUCTS = 12


def product_data(product: Product) -> dict[str, Any]:
    """A product as plain data: what signals carry and templates see."""
    return {
        "id": product.product_id,
        "product_id": product.product_id,
        "sku": product.sku,
        "name": product.name or product.product_id,
        "url": product.url,
        "image_url": product.image_url,
        "price": float(product.price) if product.price is not None else None,
        "currency": product.currency,
        "category": product.category,
        "in_stock": product.in_stock,
    }


# --- Catalogue -------------------------------------------------------------------------------


def product_list(
    *, workspace: Workspace, search: str = "", category: str = "", order: str = "popular"
) -> QuerySet[Product]:
    products = Product.objects.for_workspace(workspace)
    if search:
        products = products.filter(
            Q(name__icontains=search) | Q(product_id__icontains=search) | Q(sku__icontains=search)
        )
    if category:
        products = products.filter(category=category)
    ordering = {
        "popular": ("-purchases", "-views", "id"),
        "viewed": ("-views", "id"),
        "name": ("name", "id"),
        "recent": ("-created_at", "-id"),
    }.get(order, ("-purchases", "-views", "id"))
    return products.order_by(*ordering)


def product_get(*, workspace: Workspace, product_id: int) -> Product | None:
    return Product.objects.for_workspace(workspace).filter(pk=product_id).first()


def category_list(*, workspace: Workspace, limit: int = 200) -> list[str]:
    return list(
        Product.objects.for_workspace(workspace)
        .exclude(category="")
        .values_list("category", flat=True)
        .distinct()
        .order_by("category")[:limit]
    )


def catalogue_figures(*, workspace: Workspace) -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE in_stock), coalesce(sum(views), 0), "
            "coalesce(sum(adds), 0), coalesce(sum(purchases), 0) FROM commerce_product "
            "WHERE workspace_id = %s",
            [workspace.pk],
        )
        products, in_stock, views, adds, purchases = cursor.fetchone()
    return {
        "products": products,
        "in_stock": in_stock,
        "views": int(views),
        "adds": int(adds),
        "purchases": int(purchases),
    }


def product_buyers(*, workspace: Workspace, product: Product, limit: int = 20) -> list[Purchase]:
    return list(
        Purchase.objects.for_workspace(workspace)
        .filter(product=product)
        .select_related("contact")
        .order_by("-ordered_at")[:limit]
    )


def bought_together(
    *, workspace: Workspace, product: Product, limit: int = 8
) -> list[tuple[Product, int]]:
    """The products most often bought by the same contacts as `product`."""
    from .recommend import partners_load

    rows = partners_load(workspace_id=workspace.pk, products=[product.pk], per_product=limit)
    pairs = rows.get(product.pk, [])
    found = Product.objects.for_workspace(workspace).in_bulk([q for q, _ in pairs])
    return [(found[q], n) for q, n in pairs if q in found]


def import_list(*, workspace: Workspace, limit: int = 20) -> list[ProductImport]:
    return list(
        ProductImport.objects.for_workspace(workspace)
        .defer("data", "errors")
        .order_by("-created_at")[:limit]
    )


def run_latest(*, workspace: Workspace) -> CommerceRun | None:
    return CommerceRun.objects.for_workspace(workspace).order_by("-created_at", "-id").first()


def workspaces_with_activity() -> list[int]:
    """Workspaces with any commerce activity (beat; call inside an all-workspaces scope)."""
    return sorted(set(ProductActivity.objects.values_list("workspace_id", flat=True).distinct()))


# --- Per contact -----------------------------------------------------------------------------


def recommendations_for_contacts(
    *, workspace: Workspace, contact_ids: Iterable[int], limit: int = MAX_BLOCK_PRODUCTS
) -> dict[int, list[dict[str, Any]]]:
    """{contact id: [product data + "reason"], best first, at most `limit`} — the stored
    recommendations, and for contacts without stored ones (new, or who bought since the
    last run) computed now, all in a bounded number of queries whatever the count. Products
    out of stock since the computation are left out."""
    from .recommend import recommendations_compute

    contacts = sorted(set(contact_ids))
    if not contacts:
        return {}
    stored = dict(
        Recommendation.objects.for_workspace(workspace)
        .filter(contact_id__in=contacts)
        .values_list("contact_id", "items")
    )
    missing = [cid for cid in contacts if cid not in stored]
    if missing:
        stored.update(recommendations_compute(workspace_id=workspace.pk, contact_ids=missing))
    products = Product.objects.for_workspace(workspace).in_bulk(
        {item["product"] for items in stored.values() for item in items}
    )
    found: dict[int, list[dict[str, Any]]] = {}
    for cid in contacts:
        chosen = []
        for item in stored.get(cid, []):
            product = products.get(item["product"])
            if product is None or not product.in_stock:
                continue
            chosen.append(product_data(product) | {"reason": item["reason"]})
            if len(chosen) >= limit:
                break
        found[cid] = chosen
    return found


def recommendations_sample(
    *, workspace: Workspace | None = None, limit: int = 3
) -> list[dict[str, Any]]:
    """Products to show in a preview without a contact: the most purchased (or a made-up
    one in an empty catalogue, so the editor shows what the block looks like)."""
    if workspace is not None:
        products = list(
            Product.objects.for_workspace(workspace)
            .filter(in_stock=True)
            .order_by("-purchases", "id")[:limit]
        )
        if products:
            return [product_data(p) | {"reason": "popular"} for p in products]
    return [
        {
            "id": f"sample-{n}",
            "product_id": f"sample-{n}",
            "sku": "",
            "name": name,
            "url": "https://example.com/products/" + name.lower().replace(" ", "-"),
            "image_url": "",
            "price": price,
            "currency": "USD",
            "category": "Sample",
            "in_stock": True,
            "reason": "popular",
        }
        for n, (name, price) in enumerate(
            [("Sample mug", 12.0), ("Sample tote bag", 18.5), ("Sample notebook", 7.25)][:limit],
            start=1,
        )
    ]


def contact_commerce(*, workspace: Workspace, contact_id: int) -> dict[str, Any]:
    """A contact's purchases, predicted reorders and recommendations (the API's view)."""
    purchases = list(
        Purchase.objects.for_workspace(workspace)
        .filter(contact_id=contact_id)
        .select_related("product")
        .order_by("-ordered_at")[:50]
    )
    predictions = list(
        ReorderPrediction.objects.for_workspace(workspace)
        .filter(contact_id=contact_id)
        .select_related("product")
        .order_by("predicted_at")[:50]
    )
    return {
        "purchases": [
            {
                "product": p.product.product_id,
                "name": p.product.name,
                "ordered_at": p.ordered_at,
                "quantity": p.quantity,
                "price": float(p.price) if p.price is not None else None,
                "order_id": p.order_id,
            }
            for p in purchases
        ],
        "reorders": [
            {
                "product": r.product.product_id,
                "name": r.product.name,
                "last_purchased_at": r.last_purchased_at,
                "interval_days": round(r.interval_days, 2),
                "basis": r.basis,
                "predicted_at": r.predicted_at,
            }
            for r in predictions
        ],
        "recommendations": recommendations_for_contacts(
            workspace=workspace, contact_ids=[contact_id]
        ).get(contact_id, []),
    }


def reorder_predicted_at(
    *, workspace: Workspace, contact_id: int, product: str | None = None
) -> datetime | None:
    """When the contact is predicted to reorder `product` (the shop's product id), or their
    earliest predicted reorder of any product; None without a prediction."""
    predictions = ReorderPrediction.objects.for_workspace(workspace).filter(contact_id=contact_id)
    if product:
        predictions = predictions.filter(product__product_id=str(product))
    return predictions.order_by("predicted_at").values_list("predicted_at", flat=True).first()
