"""The one writer of the catalogue (commerce_product): events, feeds and the API all upsert
through `products_upsert`, which also notices the two changes contacts are told about — a
price drop and a return to stock — and records them as signals (services/signals.py)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from commerce.models import Product
from workspaces.errors import ValidationFailed
from workspaces.models import Workspace

from .signals import Change, signals_for_changes

TEXT_LIMITS = {
    "product_id": 200,
    "sku": 200,
    "name": 300,
    "url": 1000,
    "image_url": 1000,
    "category": 200,
    "currency": 3,
}
MAX_PRICE = Decimal("9999999999.99")


@dataclass
class ProductRow:
    """What one source says about a product. None / "" means "not said": it never erases."""

    product_id: str
    sku: str = ""
    name: str = ""
    url: str = ""
    image_url: str = ""
    price: Decimal | None = None
    currency: str = ""
    category: str = ""
    in_stock: bool | None = None
    at: datetime | None = None  # when the source said it (events: the event's timestamp)


@dataclass
class UpsertOutcome:
    ids: dict[str, int] = field(default_factory=dict)  # product_id → pk
    created: int = 0
    updated: int = 0
    skipped_over_limit: int = 0
    changes: list[Change] = field(default_factory=list)


# --- Values ----------------------------------------------------------------------------------


def price_clean(value: Any, *, field: str = "price") -> Decimal | None:
    """A price ≥ 0 from a number or numeric text ("12.50", "12,50"); None for empty.
    ValidationFailed naming `field` otherwise."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValidationFailed(f"{field}: not a price", fields={field: ["not a price"]})
    text = str(value).strip().replace(",", ".") if isinstance(value, str) else value
    try:
        price = Decimal(str(text)) if not isinstance(text, Decimal) else text
    except (InvalidOperation, ValueError):
        raise ValidationFailed(
            f"{field}: {str(value)[:40]!r} is not a price (a number such as 19.99)",
            fields={field: [f"{str(value)[:40]!r} is not a price (a number such as 19.99)"]},
        )
    if not price.is_finite() or (isinstance(value, float) and not math.isfinite(value)):
        raise ValidationFailed(f"{field}: not a price", fields={field: ["not a price"]})
    if price < 0 or price > MAX_PRICE:
        raise ValidationFailed(
            f"{field}: a price is from 0 to {MAX_PRICE}",
            fields={field: [f"a price is from 0 to {MAX_PRICE}"]},
        )
    return price.quantize(Decimal("0.01"))


def link_clean(value: Any, *, field: str) -> str:
    """An http(s) address, or "" for empty; ValidationFailed naming `field` otherwise."""
    if value is None or value == "":
        return ""
    text = str(value).strip()
    if not text.lower().startswith(("https://", "http://")):
        raise ValidationFailed(
            f"{field}: must be a full address starting with https://",
            fields={field: ["must be a full address starting with https://"]},
        )
    if len(text) > TEXT_LIMITS[field]:
        raise ValidationFailed(
            f"{field}: longer than {TEXT_LIMITS[field]} characters",
            fields={field: [f"longer than {TEXT_LIMITS[field]} characters"]},
        )
    return text


def text_clean(value: Any, *, field: str) -> str:
    if value is None:
        return ""
    text = " ".join(str(value).replace("\x00", "").split())
    return text[: TEXT_LIMITS[field]]


STOCK_WORDS = {
    **dict.fromkeys(
        ("true", "yes", "y", "1", "in stock", "in_stock", "instock", "available"), True
    ),
    **dict.fromkeys(
        ("false", "no", "n", "0", "out of stock", "out_of_stock", "outofstock", "sold out"), False
    ),
}


def stock_clean(value: Any, *, field: str = "in_stock") -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value > 0
    found = STOCK_WORDS.get(str(value).strip().lower())
    if found is None:
        raise ValidationFailed(
            f"{field}: {str(value)[:40]!r} is not a stock status (use yes/no, in stock/out of stock)",
            fields={field: [f"{str(value)[:40]!r} is not a stock status (use yes/no)"]},
        )
    return found


# --- Upsert ----------------------------------------------------------------------------------

_UPSERT_SQL = """
INSERT INTO commerce_product AS p (workspace_id, product_id, sku, name, url, image_url, price,
    price_at, currency, category, in_stock, source, managed, views, adds, purchases,
    price_changes, restocks, reorder_sample, reorder_checked, reorder_error_days, created_at,
    updated_at)
SELECT %(ws)s, r.product_id, coalesce(r.sku, ''), coalesce(r.name, ''), coalesce(r.url, ''),
    coalesce(r.image_url, ''), r.price, CASE WHEN r.price IS NULL THEN NULL ELSE coalesce(r.at, %(now)s) END,
    coalesce(r.currency, ''), coalesce(r.category, ''), coalesce(r.in_stock, true), %(source)s,
    %(managed)s, 0, 0, 0, 0, 0, 0, 0, 0, %(now)s, %(now)s
FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(product_id text, sku text, name text, url text,
    image_url text, price numeric, at timestamptz, currency text, category text, in_stock boolean,
    price_changes int, restocks int)
ORDER BY r.product_id
ON CONFLICT (workspace_id, product_id) DO UPDATE SET
    sku = coalesce(nullif(excluded.sku, ''), p.sku),
    name = coalesce(nullif(excluded.name, ''), p.name),
    url = coalesce(nullif(excluded.url, ''), p.url),
    image_url = coalesce(nullif(excluded.image_url, ''), p.image_url),
    category = coalesce(nullif(excluded.category, ''), p.category),
    currency = coalesce(nullif(excluded.currency, ''), p.currency),
    price = CASE WHEN excluded.price_at IS NOT NULL
                  AND (%(managed)s OR NOT p.managed)
                  AND (p.price_at IS NULL OR excluded.price_at >= p.price_at)
             THEN excluded.price ELSE p.price END,
    price_at = CASE WHEN excluded.price_at IS NOT NULL
                  AND (%(managed)s OR NOT p.managed)
                  AND (p.price_at IS NULL OR excluded.price_at >= p.price_at)
             THEN excluded.price_at ELSE p.price_at END,
    in_stock = CASE WHEN %(stock_said)s AND (%(managed)s OR NOT p.managed)
             THEN excluded.in_stock ELSE p.in_stock END,
    managed = p.managed OR %(managed)s,
    source = CASE WHEN %(managed)s THEN excluded.source ELSE p.source END,
    updated_at = %(now)s
RETURNING id, product_id, price, in_stock, (xmax = 0) AS inserted
"""


def _row_json(row: ProductRow) -> dict[str, Any]:
    return {
        "product_id": row.product_id,
        "sku": row.sku,
        "name": row.name,
        "url": row.url,
        "image_url": row.image_url,
        "price": str(row.price) if row.price is not None else None,
        "at": row.at.isoformat() if row.at else None,
        "currency": row.currency,
        "category": row.category,
        "in_stock": row.in_stock,
    }


def _merged(rows: Iterable[ProductRow]) -> dict[str, ProductRow]:
    """One row per product id: later (by `at`) statements win field by field."""
    merged: dict[str, ProductRow] = {}
    for row in sorted(rows, key=lambda r: r.at.timestamp() if r.at else 0.0):
        have = merged.get(row.product_id)
        if have is None:
            merged[row.product_id] = ProductRow(**row.__dict__)
            continue
        for key, value in row.__dict__.items():
            if value not in (None, ""):
                setattr(have, key, value)
    return merged


@transaction.atomic
def products_upsert(
    *,
    workspace: Workspace,
    rows: Sequence[ProductRow],
    source: str,
    now: datetime | None = None,
) -> UpsertOutcome:
    """Create or update products. Events (`source="events"`) fill in and refresh what they say
    but never override a product a feed or the API manages; a feed or the API (`"feed"`,
    `"api"`) sets price and stock. Products beyond COMMERCE_MAX_PRODUCTS are not created.
    A price drop of at least COMMERCE_PRICE_DROP_MIN_PERCENT and a return to stock are
    recorded as signals for the contacts who showed interest (services/signals.py)."""
    outcome = UpsertOutcome()
    merged = _merged(rows)
    if not merged:
        return outcome
    now = now or timezone.now()
    managed = source != Product.Source.EVENTS
    before = {
        pid: (pk, price, in_stock)
        for pk, pid, price, in_stock in Product.objects.for_workspace(workspace)
        .select_for_update()
        .filter(product_id__in=list(merged))
        .order_by("product_id")
        .values_list("pk", "product_id", "price", "in_stock")
    }
    new_ids = [pid for pid in merged if pid not in before]
    if new_ids:
        room = settings.COMMERCE_MAX_PRODUCTS - Product.objects.for_workspace(workspace).count()
        for pid in sorted(new_ids)[max(room, 0) :]:
            del merged[pid]
            outcome.skipped_over_limit += 1
    stock_said = any(row.in_stock is not None for row in merged.values())
    payload = [_row_json(row) for row in merged.values()]
    if stock_said:  # a row that does not say keeps the stored stock
        for item in payload:
            if item["in_stock"] is None:
                item["in_stock"] = before.get(item["product_id"], (None, None, True))[2]
    with connection.cursor() as cursor:
        cursor.execute(
            _UPSERT_SQL,
            {
                "ws": workspace.pk,
                "now": now,
                "source": source,
                "managed": managed,
                "stock_said": stock_said,
                "rows": orjson.dumps(payload).decode(),
            },
        )
        returned = cursor.fetchall()
    drops: list[Change] = []
    restocks: list[Change] = []
    for pk, pid, price, in_stock, inserted in returned:
        outcome.ids[pid] = pk
        if inserted:
            outcome.created += 1
            continue
        outcome.updated += 1
        _, old_price, old_stock = before[pid]
        if old_price and price is not None and price < old_price:
            drop = Change("price_drop", Product(pk=pk), old_price, price)
            if drop.drop_percent >= settings.COMMERCE_PRICE_DROP_MIN_PERCENT:
                drops.append(drop)
        if in_stock and old_stock is False:
            restocks.append(Change("restock", Product(pk=pk)))
    if drops or restocks:
        outcome.changes = _changes_count(workspace, drops, restocks)
        signals_for_changes(workspace=workspace, changes=outcome.changes, now=now)
    return outcome


def _changes_count(
    workspace: Workspace, drops: list[Change], restocks: list[Change]
) -> list[Change]:
    """Number each change on its product (price_changes / restocks + 1) and load the product
    as it is now: the signals' message ids carry the number."""
    for kinds, column in ((drops, "price_changes"), (restocks, "restocks")):
        if not kinds:
            continue
        ids = [change.product.pk for change in kinds]
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE commerce_product SET {column} = {column} + 1 "  # noqa: S608 — a column name
                "WHERE workspace_id = %s AND id = ANY(%s)",
                [workspace.pk, ids],
            )
    products = Product.objects.for_workspace(workspace).in_bulk(
        [change.product.pk for change in drops + restocks]
    )
    for change in drops + restocks:
        change.product = products[change.product.pk]
    return drops + restocks


def product_counts_add(*, workspace: Workspace, counts: Mapping[int, tuple[int, int, int]]) -> None:
    """Add (views, adds, purchases) to products' counters, in one statement."""
    if not counts:
        return
    ids = sorted(counts)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE commerce_product p SET views = p.views + u.v, adds = p.adds + u.a,
                purchases = p.purchases + u.b
            FROM unnest(%s::bigint[], %s::int[], %s::int[], %s::int[]) AS u(id, v, a, b)
            WHERE p.workspace_id = %s AND p.id = u.id
            """,
            [
                ids,
                [counts[i][0] for i in ids],
                [counts[i][1] for i in ids],
                [counts[i][2] for i in ids],
                workspace.pk,
            ],
        )


@transaction.atomic
def product_update(*, workspace: Workspace, product: Product, data: Mapping[str, Any]) -> Product:
    """Change one product from the API (it becomes managed: events no longer set its price
    and stock). All-or-nothing; ValidationFailed names the field."""
    row = ProductRow(product_id=product.product_id, at=timezone.now())
    _fill_row(row, data)
    products_upsert(workspace=workspace, rows=[row], source=Product.Source.API)
    product.refresh_from_db()
    return product


def row_from_mapping(data: Mapping[str, Any]) -> ProductRow:
    """A ProductRow from a feed row or an API body, each value checked (ValidationFailed
    names the field); `id` / `product_id` is required."""
    raw_id = data.get("product_id", data.get("id"))
    product_id = text_clean(raw_id, field="product_id") if raw_id not in (None, "") else ""
    if not product_id:
        raise ValidationFailed(
            "product_id: the product id is empty", fields={"product_id": ["is empty"]}
        )
    row = ProductRow(product_id=product_id, at=timezone.now())
    _fill_row(row, data)
    return row


def _fill_row(row: ProductRow, data: Mapping[str, Any]) -> None:
    if "name" in data:
        row.name = text_clean(data["name"], field="name")
    if "sku" in data:
        row.sku = text_clean(data["sku"], field="sku")
    if "category" in data:
        row.category = text_clean(data["category"], field="category")
    if "currency" in data:
        row.currency = text_clean(data["currency"], field="currency").upper()
    if "url" in data:
        row.url = link_clean(data["url"], field="url")
    image = data.get("image_url", data.get("image"))
    if image not in (None, ""):
        row.image_url = link_clean(image, field="image_url")
    if "price" in data:
        row.price = price_clean(data["price"])
    stock = data.get("in_stock", data.get("stock"))
    if stock not in (None, ""):
        row.in_stock = stock_clean(stock)
