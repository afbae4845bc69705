"""Signals for contacts: events recorded on a contact's stream when something about a product
they showed interest in happened. Workflows start on them (trigger.browse_abandoned,
trigger.back_in_stock, trigger.price_drop); segments and the timeline see them as events.

Each signal's message id names what it is about — the product's n-th return to stock, its
n-th price drop, the view that was abandoned — so the events service records it once per
contact however often the work is retried (docs/commerce.md, "Triggers").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from commerce.models import Product
from commerce.selectors import (
    BACK_IN_STOCK,
    BROWSE_ABANDONED,
    PRICE_DROPPED,
    product_data,
)
from contacts.services import NewEvent, events_enqueue_processing, events_record
from workspaces.models import Workspace


@dataclass
class Change:
    """A change contacts hear about: `kind` is "price_drop" or "restock"."""

    kind: str
    product: Product
    old_price: Decimal | None = None
    new_price: Decimal | None = None

    @property
    def drop_percent(self) -> float:
        if not self.old_price or self.new_price is None:
            return 0.0
        return round(float((self.old_price - self.new_price) / self.old_price * 100), 1)


_AUDIENCE_SQL = """
SELECT a.contact_id FROM commerce_productactivity a
WHERE a.workspace_id = %(ws)s AND a.product_id = %(product)s
  AND greatest(a.last_viewed_at, a.last_added_at) >= %(since)s
  {extra}
ORDER BY greatest(a.last_viewed_at, a.last_added_at) DESC, a.contact_id
LIMIT %(limit)s
"""
# Not to someone who bought it since they last looked at it.
_NOT_BOUGHT_SINCE = (
    "AND (a.last_purchased_at IS NULL OR a.last_purchased_at < "
    "greatest(a.last_viewed_at, a.last_added_at))"
)


def _audience(workspace: Workspace, product: Product, now: datetime) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            _AUDIENCE_SQL.format(extra=_NOT_BOUGHT_SINCE),
            {
                "ws": workspace.pk,
                "product": product.pk,
                "since": now - timedelta(days=settings.COMMERCE_SIGNAL_DAYS),
                "limit": settings.COMMERCE_SIGNAL_MAX_CONTACTS,
            },
        )
        return [row[0] for row in cursor.fetchall()]


def signals_for_changes(*, workspace: Workspace, changes: list[Change], now: datetime) -> int:
    """Record a back-in-stock or price-drop signal for each interested contact; the events
    pipeline runs on them after commit (workflow triggers). Returns how many were new."""
    events: list[NewEvent] = []
    for change in changes:
        product = change.product
        properties: dict[str, Any] = product_data(product)
        if change.kind == "price_drop":
            name = PRICE_DROPPED
            key = f"commerce:price_drop:{product.pk}:{product.price_changes}"
            properties |= {
                "old_price": float(change.old_price or 0),
                "new_price": float(change.new_price or 0),
                "drop_percent": change.drop_percent,
            }
        else:
            name = BACK_IN_STOCK
            key = f"commerce:restock:{product.pk}:{product.restocks}"
        for contact_id in _audience(workspace, product, now):
            events.append(
                NewEvent(
                    contact_id,
                    name,
                    properties,
                    message_id=f"{key}:{contact_id}",
                    timestamp=now,
                )
            )
    return _record(workspace, events)


def _record(workspace: Workspace, events: list[NewEvent]) -> int:
    if not events:
        return 0
    ids = [pk for pk in events_record(workspace=workspace, events=events, source="commerce") if pk]
    events_enqueue_processing(workspace=workspace, event_ids=ids)
    return len(ids)


# --- Browse abandonment ----------------------------------------------------------------------

# Views old enough (the wait has passed) but not older than a day beyond it (a late first
# run does not wake up last month's browsing), by contacts who since their view neither
# added, started a checkout nor ordered anything, and not yet signalled for that view.
_ABANDONED_SQL = """
WITH candidates AS (
    SELECT a.id, a.contact_id, a.product_id, a.last_viewed_at
    FROM commerce_productactivity a
    WHERE a.workspace_id = %(ws)s
      AND a.last_viewed_at <= %(until)s AND a.last_viewed_at > %(since)s
      AND (a.abandoned_view_at IS NULL OR a.abandoned_view_at < a.last_viewed_at)
      AND NOT EXISTS (  -- still browsing: the session is not over yet
          SELECT 1 FROM commerce_productactivity x
          WHERE x.workspace_id = %(ws)s AND x.contact_id = a.contact_id
            AND x.last_viewed_at > %(until)s)
    ORDER BY a.last_viewed_at DESC
    LIMIT %(limit)s
), busy AS (
    SELECT b.contact_id, max(greatest(b.last_added_at, b.last_purchased_at)) AS acted_at
    FROM commerce_productactivity b
    WHERE b.workspace_id = %(ws)s AND b.contact_id IN (SELECT contact_id FROM candidates)
    GROUP BY b.contact_id
)
SELECT c.id, c.contact_id, c.product_id, c.last_viewed_at,
       (busy.acted_at IS NOT NULL AND busy.acted_at >= c.last_viewed_at) AS acted
FROM candidates c LEFT JOIN busy USING (contact_id)
ORDER BY c.contact_id, c.last_viewed_at DESC
"""
MAX_ABANDON_ROWS = 20_000  # views handled per run; the next run takes the rest
MAX_PRODUCTS_IN_SIGNAL = 5


@transaction.atomic
def browse_abandonment_scan(*, workspace: Workspace, now: datetime) -> int:
    """Record `product.browse_abandoned` once per contact and abandoned browsing session (the
    contact's latest abandoned view names it), with up to 5 viewed products, most recent
    first. Every view looked at is marked, so none is signalled twice. Returns the count."""
    wait = timedelta(hours=settings.COMMERCE_BROWSE_ABANDON_HOURS)
    with connection.cursor() as cursor:
        cursor.execute(
            _ABANDONED_SQL,
            {
                "ws": workspace.pk,
                "until": now - wait,
                "since": now - wait - timedelta(days=1),
                "limit": MAX_ABANDON_ROWS,
            },
        )
        rows = cursor.fetchall()
    if not rows:
        return 0
    by_contact: dict[int, list[tuple[int, datetime]]] = {}
    for _, contact_id, product_id, viewed_at, acted in rows:
        if not acted:
            by_contact.setdefault(contact_id, []).append((product_id, viewed_at))
    products = Product.objects.for_workspace(workspace).in_bulk(
        {pid for views in by_contact.values() for pid, _ in views}
    )
    events = []
    for contact_id, views in by_contact.items():
        viewed = [products[pid] for pid, _ in views if pid in products][:MAX_PRODUCTS_IN_SIGNAL]
        if not viewed:
            continue
        latest = views[0][1]
        properties = product_data(viewed[0]) | {
            "products": [product_data(p) for p in viewed],
            "viewed_at": latest.isoformat(),
        }
        events.append(
            NewEvent(
                contact_id,
                BROWSE_ABANDONED,
                properties,
                message_id=f"commerce:browse:{contact_id}:{int(latest.timestamp())}",
                timestamp=now,
            )
        )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE commerce_productactivity SET abandoned_view_at = last_viewed_at "
            "WHERE workspace_id = %s AND id = ANY(%s)",
            [workspace.pk, [row[0] for row in rows]],
        )
    return _record(workspace, events)
