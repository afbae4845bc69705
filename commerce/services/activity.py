"""From e-commerce events to the catalogue, each contact's activity and their purchases: the
work of the pipeline step (processors.py). Segment's e-commerce spec: `Product Viewed` and
`Product Added` describe one product in their properties; `Checkout Started` and
`Order Completed` carry `products[]` (product_id, sku, name, price, quantity, category, url,
image_url …). A product is known by `product_id` (else `sku`).

Idempotent: purchases are unique on (event, product), and an activity row remembers the
newest event it counted, so a retried batch counts nothing twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from django.conf import settings
from django.db import connection, transaction

from commerce.models import Product
from commerce.selectors import ECOMMERCE_EVENTS, ORDER_COMPLETED, PRODUCT_ADDED, PRODUCT_VIEWED
from contacts.models import Event
from workspaces.errors import ValidationFailed
from workspaces.models import Workspace

from .catalogue import (
    ProductRow,
    link_clean,
    price_clean,
    product_counts_add,
    products_upsert,
    text_clean,
)


@dataclass
class _Pair:
    viewed: datetime | None = None
    added: datetime | None = None
    purchased: datetime | None = None
    views: list[int] = field(default_factory=list)  # event ids
    adds: list[int] = field(default_factory=list)


@dataclass
class _Line:
    contact_id: int
    product_id: str
    event: Event
    quantity: int
    price: Any


def _lenient(clean: Any, value: Any, **kwargs: Any) -> Any:
    """An event's value cleaned, or None when it is not usable (events are not refused)."""
    try:
        return clean(value, **kwargs)
    except ValidationFailed:
        return None


def _product_of(line: Mapping[str, Any], event: Event, currency: Any) -> ProductRow | None:
    raw = line.get("product_id") or line.get("sku") or line.get("id")
    if raw in (None, "") or isinstance(raw, dict | list | bool):
        return None
    product_id = text_clean(raw, field="product_id")
    if not product_id:
        return None
    return ProductRow(
        product_id=product_id,
        sku=text_clean(line.get("sku"), field="sku")
        if isinstance(line.get("sku"), str | int)
        else "",
        name=text_clean(line.get("name"), field="name")
        if isinstance(line.get("name"), str)
        else "",
        url=_lenient(link_clean, line.get("url"), field="url") or "",
        image_url=_lenient(link_clean, line.get("image_url"), field="image_url") or "",
        price=_lenient(price_clean, line.get("price")),
        currency=text_clean(currency, field="currency").upper()
        if isinstance(currency, str)
        else "",
        category=text_clean(line.get("category"), field="category")
        if isinstance(line.get("category"), str)
        else "",
        at=event.timestamp,
    )


def _lines(event: Event) -> list[Mapping[str, Any]]:
    properties = event.properties if isinstance(event.properties, dict) else {}
    if event.name in (PRODUCT_VIEWED, PRODUCT_ADDED):
        return [properties]
    products = properties.get("products")
    if isinstance(products, list):
        return [p for p in products[: settings.COMMERCE_MAX_LINES_PER_EVENT] if isinstance(p, dict)]
    return [properties] if properties.get("product_id") or properties.get("sku") else []


def _quantity(value: Any) -> int:
    try:
        quantity = int(float(value))
    except (TypeError, ValueError):
        return 1
    return min(max(quantity, 1), 1_000_000)


def commerce_events_apply(*, workspace: Workspace, events: Iterable[Event]) -> set[int]:
    """Apply a pipeline batch's e-commerce events; the contacts with new purchases."""
    rows: list[ProductRow] = []
    pairs: dict[tuple[int, str], _Pair] = defaultdict(_Pair)
    lines: list[_Line] = []
    for event in events:
        if event.name not in ECOMMERCE_EVENTS or not event.contact_id:
            continue
        properties = event.properties if isinstance(event.properties, dict) else {}
        for line in _lines(event):
            row = _product_of(line, event, line.get("currency") or properties.get("currency"))
            if row is None:
                continue
            rows.append(row)
            pair = pairs[(event.contact_id, row.product_id)]
            at = event.timestamp
            if event.name == PRODUCT_VIEWED:
                pair.viewed = max(filter(None, (pair.viewed, at)))
                pair.views.append(event.pk)
            else:  # an add, a checkout and an order all mean "did not just browse"
                pair.added = max(filter(None, (pair.added, at)))
                if event.name == PRODUCT_ADDED:
                    pair.adds.append(event.pk)
            if event.name == ORDER_COMPLETED:
                pair.purchased = max(filter(None, (pair.purchased, at)))
                lines.append(
                    _Line(
                        event.contact_id,
                        row.product_id,
                        event,
                        _quantity(line.get("quantity")),
                        row.price,
                    )
                )
    if not rows:
        return set()
    with transaction.atomic():
        ids = products_upsert(workspace=workspace, rows=rows, source=Product.Source.EVENTS).ids
        bought = _purchases_insert(workspace, lines, ids)
        counts = _activity_apply(workspace, pairs, ids, bought)
        product_counts_add(workspace=workspace, counts=counts)
    return {contact_id for contact_id, _ in bought}


_PURCHASES_SQL = """
INSERT INTO commerce_purchase (workspace_id, contact_id, product_id, event_id, order_id,
    ordered_at, quantity, price, created_at, updated_at)
SELECT %(ws)s, r.c, r.p, r.e, r.o, r.t, r.q, r.price, now(), now()
FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(c bigint, p bigint, e bigint, o text,
    t timestamptz, q int, price numeric)
ON CONFLICT (workspace_id, event_id, product_id) DO NOTHING
RETURNING contact_id, product_id
"""


def _purchases_insert(
    workspace: Workspace, lines: list[_Line], ids: Mapping[str, int]
) -> list[tuple[int, int]]:
    """Insert the order lines not stored yet; (contact, product pk) of each new one."""
    payload = []
    seen: set[tuple[int, int]] = set()
    for line in lines:
        pk = ids.get(line.product_id)
        if pk is None or (line.event.pk, pk) in seen:  # over the catalogue limit / repeated line
            continue
        seen.add((line.event.pk, pk))
        order_id = (line.event.properties or {}).get("order_id")
        payload.append(
            {
                "c": line.contact_id,
                "p": pk,
                "e": line.event.pk,
                "o": str(order_id)[:200] if order_id not in (None, "") else "",
                "t": line.event.timestamp.isoformat(),
                "q": line.quantity,
                "price": str(line.price) if line.price is not None else None,
            }
        )
    if not payload:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_PURCHASES_SQL, {"ws": workspace.pk, "rows": orjson.dumps(payload).decode()})
        return [(row[0], row[1]) for row in cursor.fetchall()]


_ACTIVITY_CREATE_SQL = """
INSERT INTO commerce_productactivity (workspace_id, contact_id, product_id, view_count,
    purchase_count, counted_event_id, created_at, updated_at)
SELECT %s, u.c, u.p, 0, 0, 0, now(), now() FROM unnest(%s::bigint[], %s::bigint[]) AS u(c, p)
ORDER BY u.c, u.p
ON CONFLICT (workspace_id, contact_id, product_id) DO NOTHING
"""
_ACTIVITY_LOCK_SQL = """
SELECT a.id, a.contact_id, a.product_id, a.counted_event_id FROM commerce_productactivity a
JOIN unnest(%s::bigint[], %s::bigint[]) AS u(c, p) ON a.contact_id = u.c AND a.product_id = u.p
WHERE a.workspace_id = %s ORDER BY a.id FOR UPDATE OF a
"""
_ACTIVITY_UPDATE_SQL = """
UPDATE commerce_productactivity a SET
    last_viewed_at = greatest(a.last_viewed_at, r.viewed),
    last_added_at = greatest(a.last_added_at, r.added),
    last_purchased_at = greatest(a.last_purchased_at, r.purchased),
    view_count = a.view_count + r.views,
    purchase_count = a.purchase_count + r.purchases,
    counted_event_id = greatest(a.counted_event_id, r.newest),
    updated_at = now()
FROM jsonb_to_recordset(%s::jsonb) AS r(id bigint, viewed timestamptz, added timestamptz,
    purchased timestamptz, views int, purchases int, newest bigint)
WHERE a.workspace_id = %s AND a.id = r.id
"""


def _activity_apply(
    workspace: Workspace,
    pairs: Mapping[tuple[int, str], _Pair],
    ids: Mapping[str, int],
    bought: list[tuple[int, int]],
) -> dict[int, tuple[int, int, int]]:
    """Create/lock/update the activity rows; the (views, adds, purchases) newly counted per
    product."""
    keyed = {(c, ids[pid]): pair for (c, pid), pair in pairs.items() if pid in ids}
    if not keyed:
        return {}
    contacts = [c for c, _ in keyed]
    products = [p for _, p in keyed]
    new_purchases: dict[tuple[int, int], int] = defaultdict(int)
    for key in bought:
        new_purchases[key] += 1
    with connection.cursor() as cursor:
        cursor.execute(_ACTIVITY_CREATE_SQL, [workspace.pk, contacts, products])
        cursor.execute(_ACTIVITY_LOCK_SQL, [contacts, products, workspace.pk])
        locked = cursor.fetchall()
        counts: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
        updates = []
        for row_id, contact_id, product_id, counted in locked:
            pair = keyed[(contact_id, product_id)]
            views = sum(1 for e in pair.views if e > counted)
            adds = sum(1 for e in pair.adds if e > counted)
            purchases = new_purchases.get((contact_id, product_id), 0)
            counts[product_id][0] += views
            counts[product_id][1] += adds
            counts[product_id][2] += purchases
            updates.append(
                {
                    "id": row_id,
                    "viewed": pair.viewed.isoformat() if pair.viewed else None,
                    "added": pair.added.isoformat() if pair.added else None,
                    "purchased": pair.purchased.isoformat() if pair.purchased else None,
                    "views": views,
                    "purchases": purchases,
                    "newest": max([counted, *pair.views, *pair.adds]),
                }
            )
        cursor.execute(_ACTIVITY_UPDATE_SQL, [orjson.dumps(updates).decode(), workspace.pk])
    return {pid: (v, a, b) for pid, (v, a, b) in counts.items()}
